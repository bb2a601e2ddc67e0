"""The automation app's API routes, one list per area."""

from automation.api import ai, bots, flows, functions, integrations, knowledge, webhooks, workflows

urlpatterns: list = [
    *ai.urlpatterns,
    *knowledge.urlpatterns,
    *bots.urlpatterns,
    *flows.urlpatterns,
    *workflows.urlpatterns,
    *functions.urlpatterns,
    *webhooks.urlpatterns,
    *integrations.urlpatterns,
]
