from messaging.views import (
    calls,
    canned,
    contacts,
    dashboard,
    embeds,
    flows,
    inbox,
    media,
    notifications,
    numbers,
    reports,
)

urlpatterns = [
    *calls.urlpatterns,
    *canned.urlpatterns,
    *contacts.urlpatterns,
    *dashboard.urlpatterns,
    *embeds.urlpatterns,
    *flows.urlpatterns,
    *inbox.urlpatterns,
    *media.urlpatterns,
    *notifications.urlpatterns,
    *numbers.urlpatterns,
    *reports.urlpatterns,
]
