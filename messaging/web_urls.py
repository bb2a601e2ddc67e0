from messaging.views import dashboard, numbers

urlpatterns = [
    *dashboard.urlpatterns,
    *numbers.urlpatterns,
]
