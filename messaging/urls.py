from messaging.api import (
    calls,
    canned,
    contacts,
    conversations,
    dashboard,
    embeds,
    flows,
    notifications,
    numbers,
    sandbox,
)

urlpatterns = [
    *numbers.urlpatterns,
    *contacts.urlpatterns,
    *conversations.urlpatterns,
    *dashboard.urlpatterns,
    *canned.urlpatterns,
    *sandbox.urlpatterns,
    *calls.urlpatterns,
    *embeds.urlpatterns,
    *flows.urlpatterns,
    *notifications.urlpatterns,
]
