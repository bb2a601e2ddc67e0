from messaging.views import contacts, dashboard, inbox, numbers

urlpatterns = [
    *contacts.urlpatterns,
    *dashboard.urlpatterns,
    *inbox.urlpatterns,
    *numbers.urlpatterns,
]
