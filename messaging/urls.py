from messaging.api import contacts, conversations, dashboard, numbers

urlpatterns = [
    *numbers.urlpatterns,
    *contacts.urlpatterns,
    *conversations.urlpatterns,
    *dashboard.urlpatterns,
]
