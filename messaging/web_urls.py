from messaging.views import calls, canned, contacts, dashboard, inbox, numbers, reports

urlpatterns = [
    *calls.urlpatterns,
    *canned.urlpatterns,
    *contacts.urlpatterns,
    *dashboard.urlpatterns,
    *inbox.urlpatterns,
    *numbers.urlpatterns,
    *reports.urlpatterns,
]
