"""OpenAPI helpers shared by every app's views."""

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class DetailSerializer(serializers.Serializer):
    """The error body of every 4xx/5xx: {"detail"}, plus "errors" {field: [messages]} for validation."""

    detail = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


def error_responses(pairs: list[tuple[int, str]]) -> dict[int, OpenApiResponse]:
    """`responses=` entries for error statuses, each described and shaped like DetailSerializer."""
    return {code: OpenApiResponse(DetailSerializer, description=description) for code, description in pairs}
