"""numbers API."""

urlpatterns: list = []
