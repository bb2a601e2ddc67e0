from messaging.views import dashboard, inbox

urlpatterns = [
    *dashboard.urlpatterns,
    *inbox.urlpatterns,
]
