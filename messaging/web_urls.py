from messaging.views import calls, canned, contacts, dashboard, embeds, flows, inbox, media, numbers, reports

urlpatterns = [
    *calls.urlpatterns,
    *canned.urlpatterns,
    *contacts.urlpatterns,
    *dashboard.urlpatterns,
    *embeds.urlpatterns,
    *flows.urlpatterns,
    *inbox.urlpatterns,
    *media.urlpatterns,
    *numbers.urlpatterns,
    *reports.urlpatterns,
]
