"""The automation app's pages, one list per area."""

from automation.views import ai, bots, flows, integrations, knowledge, webhooks

urlpatterns: list = [
    *knowledge.urlpatterns,
    *ai.urlpatterns,
    *bots.urlpatterns,
    *flows.urlpatterns,
    *webhooks.urlpatterns,
    *integrations.urlpatterns,
]
