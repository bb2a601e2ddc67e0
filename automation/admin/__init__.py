"""Django admin of automation, for platform staff: one module per area."""

from automation.admin import ai, bots, flows, knowledge, webhooks  # noqa: F401
