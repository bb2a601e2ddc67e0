"""Django admin of automation, for platform staff: one module per area."""

from automation.admin import webhooks  # noqa: F401
