"""dashboard API."""

urlpatterns: list = []
