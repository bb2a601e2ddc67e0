from messaging.views import canned, contacts, dashboard, inbox, numbers

urlpatterns = [
    *canned.urlpatterns,
    *contacts.urlpatterns,
    *dashboard.urlpatterns,
    *inbox.urlpatterns,
    *numbers.urlpatterns,
]
