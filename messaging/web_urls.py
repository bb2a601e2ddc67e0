from messaging.views import contacts, dashboard, numbers

urlpatterns = [
    *contacts.urlpatterns,
    *dashboard.urlpatterns,
    *numbers.urlpatterns,
]
