"""Django admin of automation, one module per area."""

from automation.admin import ai, bots, knowledge  # noqa: F401
