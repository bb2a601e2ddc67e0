from messaging.views import contacts, dashboard

urlpatterns = [
    *contacts.urlpatterns,
    *dashboard.urlpatterns,
]
