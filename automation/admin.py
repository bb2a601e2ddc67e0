"""Django admin of the automation app, one module per area."""

from automation.flows import admin as flows_admin  # noqa: F401
