from messaging.api import contacts, conversations, dashboard, numbers, sandbox

urlpatterns = [
    *numbers.urlpatterns,
    *contacts.urlpatterns,
    *conversations.urlpatterns,
    *dashboard.urlpatterns,
    *sandbox.urlpatterns,
]
