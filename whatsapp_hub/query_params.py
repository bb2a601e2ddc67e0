"""Unknown query parameters are a 400 naming them: a misspelt filter (a seed's `limit`, `isActive`, `phone_number_id`)
must not answer unfiltered data with a 200.

A view takes the query parameters its OpenAPI operation documents: its filters, search, ordering, pagination
(page, page_size, cursors) and explicit query serializers or parameters, as drf-spectacular finds them. The docs
and this check have one source, so they cannot disagree, and a new route is covered as soon as it is documented.
The documented parameters of every operation are read once per process, from the schema generated on the first
GET that needs them (about half a second, no database query).
"""

import threading
from collections.abc import Callable
from functools import cache

from django.conf import settings
from drf_spectacular.generators import SchemaGenerator
from rest_framework.exceptions import ValidationError

_generating = threading.Lock()


@cache
def _documented(urlconf: str) -> dict[tuple[Callable, str], frozenset[str]]:
    """(view callback, method) -> the query parameters its operation documents, for every route of `urlconf`."""
    generator = SchemaGenerator(urlconf=urlconf)
    schema = generator.get_schema(request=None, public=True)
    documented = {}
    for path, _path_regex, method, callback in generator.endpoints:
        # The schema names paths as the generator coerces them ({pk} -> {id}).
        schema_path = generator.coerce_path(path, method, generator.create_view(callback, method))
        operation = schema["paths"].get(schema_path, {}).get(method.lower())
        if operation is not None:
            parameters = operation.get("parameters", ())
            documented[(callback, method)] = frozenset(p["name"] for p in parameters if p["in"] == "query")
    return documented


def documented_query_params(request) -> frozenset[str] | None:
    """The query parameters the OpenAPI schema documents for this GET request's route; None for a route the
    schema leaves out (nothing to check it against)."""
    urlconf = getattr(request, "urlconf", None) or settings.ROOT_URLCONF
    with _generating:
        documented = _documented(urlconf)
    return documented.get((request.resolver_match.func, "GET"))


class KnownQueryParamsMixin:
    """DRF views: a GET (or HEAD) with a query parameter the view does not document is a 400 naming each unknown
    one, checked after authentication and permissions, before any work."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method not in ("GET", "HEAD"):
            return
        known = documented_query_params(request)
        unknown = sorted(set(request.query_params) - known) if known is not None else []
        if unknown:
            takes = f"known here: {', '.join(sorted(known))}" if known else "this route takes none"
            raise ValidationError({name: [f"Unknown query parameter; {takes}."] for name in unknown})
