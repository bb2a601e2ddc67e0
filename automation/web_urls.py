"""The automation app's pages, one list per area."""

urlpatterns: list = []
