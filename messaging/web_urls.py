from messaging.views import canned, contacts, dashboard, inbox, numbers, reports

urlpatterns = [
    *canned.urlpatterns,
    *contacts.urlpatterns,
    *dashboard.urlpatterns,
    *inbox.urlpatterns,
    *numbers.urlpatterns,
    *reports.urlpatterns,
]
