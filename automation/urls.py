"""The automation app's API routes, one list per area."""

urlpatterns: list = []

from automation.api import flows, functions, workflows  # noqa: E402

urlpatterns += [*flows.urlpatterns, *workflows.urlpatterns, *functions.urlpatterns]
