"""A URLconf with a view that fails, for the debug-page tests."""

from django.urls import path


def fail(request):
    raise RuntimeError("the failing view")


urlpatterns = [path("fail/", fail)]
