"""The automation app's API routes, one list per area."""

from automation.api import webhooks

urlpatterns: list = []
urlpatterns += webhooks.urlpatterns
