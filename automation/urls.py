"""The automation app's API routes, one list per area."""

from automation.api import ai, flows, functions, knowledge, webhooks, workflows

urlpatterns: list = [
    *ai.urlpatterns,
    *knowledge.urlpatterns,
    *flows.urlpatterns,
    *workflows.urlpatterns,
    *functions.urlpatterns,
    *webhooks.urlpatterns,
]
