"""OpenAPI helpers shared by every app's views."""

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class DetailSerializer(serializers.Serializer):
    """The error body of every 4xx/5xx: {"detail"}, plus "errors" {field: [messages]} for validation."""

    detail = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


def error_responses(pairs: list[tuple[int, str]]) -> dict[int, OpenApiResponse]:
    """`responses=` entries for error statuses, each described and shaped like DetailSerializer."""
    return {code: OpenApiResponse(DetailSerializer, description=description) for code, description in pairs}


class AdminOnlyFieldsExtension(OpenApiSerializerExtension):
    """The schema of an AdminOnlyFieldsMixin serializer: its admin-only fields are optional, and say why."""

    target_class = "whatsapp_hub.serializers.AdminOnlyFieldsMixin"
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        admin_only = self.target.admin_only_fields
        required = [name for name in schema.get("required", []) if name not in admin_only]
        if required:
            schema["required"] = required
        else:
            schema.pop("required", None)
        for name in admin_only:
            field = schema["properties"][name]
            field["description"] = " ".join(filter(None, [field.get("description"), "Admins only: absent for others."]))
        return schema
