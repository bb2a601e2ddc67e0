"""The automation app's pages, one list per area."""

from automation.views import webhooks

urlpatterns: list = []
urlpatterns += webhooks.urlpatterns
