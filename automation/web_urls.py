"""The automation app's pages, one list per area."""

from automation.views import ai, bots, flows, knowledge, webhooks

urlpatterns: list = [
    *knowledge.urlpatterns,
    *ai.urlpatterns,
    *bots.urlpatterns,
    *flows.urlpatterns,
    *webhooks.urlpatterns,
]
