"""Thin views of messaging, one module per area; each module exposes `urlpatterns`."""
