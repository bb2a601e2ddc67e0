"""The automation app's pages, one list per area."""

from automation.views import flows, webhooks

urlpatterns: list = [
    *flows.urlpatterns,
    *webhooks.urlpatterns,
]
