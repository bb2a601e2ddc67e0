"""conversations API."""

urlpatterns: list = []
