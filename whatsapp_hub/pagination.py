import base64
import json
from datetime import datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from whatsapp_hub.serializers import MAX_ID


def page_size_of(request, *, param: str, default: int, maximum: int) -> int:
    """The page size a request asks for: absent or empty is `default`, more than `maximum` is `maximum`, anything but
    a positive integer is a 400 (not silently the default)."""
    raw = request.query_params.get(param, "")
    if raw == "":
        return default
    try:
        size = int(raw)
    except ValueError:
        size = 0
    if size < 1:
        raise ValidationError({param: [f"A positive integer (at most {maximum})."]})
    return min(size, maximum)


class PageNumberPagination(pagination.PageNumberPagination):
    """The one page style: ?page=&page_size= (default 20, at most 100) -> {count, next, previous, results}."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request):
        return page_size_of(
            request, param=self.page_size_query_param, default=self.page_size, maximum=self.max_page_size
        )

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["minimum"] = 1
        return parameters


class KeysetPagination(pagination.BasePagination):
    """Cursor pagination on `keys` (descending; the last one unique, e.g. `("last_message_at", "id")`): no OFFSET.

    Answers `{next, results}`; `next` is this URL with the cursor of the page's last row (null on the last
    page). The cursor is opaque (base64 of the last row's keys); with `plain_cursor` and one key it is that
    key's value (`?before=<id>`). For two keys the filter is `a <= ta AND (a < ta OR b < tb)`, so an index on
    (..., -a, -b) serves it as a range scan. Costs one query per page (no count).
    """

    keys: tuple[str, ...] = ("id",)
    cursor_query_param = "cursor"
    plain_cursor = False
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    invalid_cursor_message = "Invalid cursor."

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        limit = page_size_of(
            request, param=self.page_size_query_param, default=self.page_size, maximum=self.max_page_size
        )
        ordered = queryset.order_by(*(f"-{key}" for key in self.keys))
        cursor = request.query_params.get(self.cursor_query_param)
        if cursor:
            ordered = ordered.filter(self._after(self._decode(cursor, queryset.model)))
        rows = list(ordered[: limit + 1])
        self.next_cursor = self._encode(rows[limit - 1]) if len(rows) > limit else None
        return rows[:limit]

    def get_paginated_response(self, data):
        return Response({"next": self.get_next_link(), "results": data})

    def get_next_link(self) -> str | None:
        if self.next_cursor is None:
            return None
        return replace_query_param(self.request.build_absolute_uri(), self.cursor_query_param, self.next_cursor)

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["next", "results"],
            "properties": {"next": {"type": "string", "nullable": True, "format": "uri"}, "results": schema},
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Where the page starts: the cursor in the previous page's `next`.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Rows per page (at most {self.max_page_size}, default {self.page_size}).",
                "schema": {"type": "integer", "minimum": 1},
            },
        ]

    def _after(self, values: list) -> Q:
        """Rows strictly after the cursor row in descending key order."""
        *prefix, last = zip(self.keys, values, strict=True)
        condition = Q(**{f"{last[0]}__lt": last[1]})
        for key, value in reversed(prefix):
            condition = Q(**{f"{key}__lte": value}) & (Q(**{f"{key}__lt": value}) | condition)
        return condition

    def _encode(self, row) -> str:
        values = [getattr(row, key) for key in self.keys]
        if self.plain_cursor:
            return str(values[0])
        text = json.dumps([value.isoformat() if isinstance(value, datetime) else value for value in values])
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    def _decode(self, cursor: str, model) -> list:
        try:
            if self.plain_cursor:
                raw = [cursor]
            else:
                raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            if not isinstance(raw, list) or len(raw) != len(self.keys):
                raise ValueError(cursor)
            values = [model._meta.get_field(key).to_python(value) for key, value in zip(self.keys, raw, strict=True)]
            if any(value is None for value in values) or any(
                isinstance(value, int) and not 0 <= value <= MAX_ID for value in values
            ):
                raise ValueError(cursor)
        except (ValueError, TypeError, DjangoValidationError):
            raise ValidationError({self.cursor_query_param: [self.invalid_cursor_message]}) from None
        return values
