from django.urls import re_path
from rest_framework.routers import SimpleRouter


class Router(SimpleRouter):
    """DRF router whose routes take the trailing slash or not (`auth/login` and `auth/login/`)."""

    def __init__(self):
        super().__init__()
        self.trailing_slash = "/?"


def api_path(route: str, view, name: str):
    """A non-router API route, with the same optional trailing slash."""
    return re_path(rf"^{route}/?$", view, name=name)
