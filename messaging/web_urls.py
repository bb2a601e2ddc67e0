from messaging.views import dashboard

urlpatterns = [
    *dashboard.urlpatterns,
]
