"""The automation app's API routes, one list per area."""

urlpatterns: list = []
