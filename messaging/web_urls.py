from messaging.views import calls, canned, contacts, dashboard, embeds, inbox, numbers, reports

urlpatterns = [
    *calls.urlpatterns,
    *canned.urlpatterns,
    *contacts.urlpatterns,
    *dashboard.urlpatterns,
    *embeds.urlpatterns,
    *inbox.urlpatterns,
    *numbers.urlpatterns,
    *reports.urlpatterns,
]
