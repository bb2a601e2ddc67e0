"""The automation app's pages, one list per area."""

from automation.views import ai, flows, knowledge, webhooks

urlpatterns: list = [
    *knowledge.urlpatterns,
    *ai.urlpatterns,
    *flows.urlpatterns,
    *webhooks.urlpatterns,
]
