"""The automation app's API routes, one list per area."""

from automation.api import flows, functions, webhooks, workflows

urlpatterns: list = [
    *flows.urlpatterns,
    *workflows.urlpatterns,
    *functions.urlpatterns,
    *webhooks.urlpatterns,
]
