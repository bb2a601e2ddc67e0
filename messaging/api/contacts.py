"""contacts API."""

urlpatterns: list = []
