"""Django admin of automation, for platform staff: one module per area."""

from automation.admin import flows, webhooks  # noqa: F401
