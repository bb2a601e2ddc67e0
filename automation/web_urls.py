"""The automation app's pages, one list per area."""

urlpatterns: list = []

from automation.views import flows  # noqa: E402

urlpatterns += flows.urlpatterns
