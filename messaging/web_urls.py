from messaging.views import contacts, dashboard, inbox

urlpatterns = [
    *contacts.urlpatterns,
    *dashboard.urlpatterns,
    *inbox.urlpatterns,
]
