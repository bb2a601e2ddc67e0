"""Django admin of automation, one module per area."""

from automation.admin import ai, knowledge  # noqa: F401
