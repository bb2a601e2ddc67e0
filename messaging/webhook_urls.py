"""Inbound provider webhooks (outside /api/v1/: no JWT, verified by signature)."""

from messaging.api import webhooks

urlpatterns = webhooks.urlpatterns
