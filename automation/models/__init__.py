"""The automation app's tables, one module per area (knowledge bases, bots, flows, outbound webhooks)."""

from automation.models.webhooks import WebhookDelivery, WebhookEndpoint  # noqa: F401
