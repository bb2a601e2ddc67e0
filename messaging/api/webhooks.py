"""webhooks API."""

urlpatterns: list = []
