"""OpenAPI helpers shared by every app's views."""

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import serializers

from whatsapp_hub.serializers import StrictFieldsMixin


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {
            "oneOf": [
                {"type": "array", "items": {"type": "string"}},
                {"type": "object", "additionalProperties": True},
            ]
        },
    }
)
class _FieldErrors(serializers.DictField):
    """{field: [messages]}; a field holding a list or an object nests the same shape ({"tags": {"0": [...]}})."""


class DetailSerializer(serializers.Serializer):
    """The error body of every 4xx/5xx: {"detail"}, plus "errors" {field: [messages]} for validation."""

    detail = serializers.CharField()
    code = serializers.CharField(required=False, help_text="A refusal's reason, for programs (e.g. window_closed)")
    errors = _FieldErrors(required=False)


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


class AutoSchema(openapi.AutoSchema):
    """The project's schema class: each operation also documents the errors the API's plumbing answers on it.

    A view declares its own outcomes (`extend_schema(responses=...)`); the statuses any view can answer, by the
    way the request is parsed, authenticated and throttled, are added here from the operation itself, so no view
    can forget them and a new route gets them too. A view's own description of one of them wins.
    """

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation["responses"]
        for code, description in self._plumbing_errors(operation):
            if str(code) not in responses:
                error = OpenApiResponse(DetailSerializer, description=description)
                responses[str(code)] = self._get_response_for_code(error, str(code))
        operation["responses"] = dict(sorted(responses.items()))
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query" and not parameter.get("required"):
                # `?status=` is the same as no `status`: django-filter, DRF's filters and ours all read it so.
                parameter["allowEmptyValue"] = True
        return operation

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "request" and isinstance(serializer, StrictFieldsMixin):
            schema["additionalProperties"] = False  # an unknown key is refused (400), not ignored
        return schema

    def _plumbing_errors(self, operation: dict) -> list[tuple[int, str]]:
        locations = {parameter["in"] for parameter in operation.get("parameters", [])}
        has_body = "requestBody" in operation
        # Any request can be refused as malformed (its body, a query parameter, an unknown one, its Host).
        errors = [(400, "Invalid input ({detail, errors})")]
        if any(requirement for requirement in operation.get("security", [])):
            errors += [(401, "Not authenticated"), (403, "Not allowed (role, or no organization)")]
        if "path" in locations:
            errors.append((404, "Not found (or another organization's)"))
        elif any(parameter["name"] == "page" for parameter in operation.get("parameters", [])):
            errors.append((404, "No such page"))
        if has_body:
            errors += [(413, "Request body too large"), (415, "Unsupported Content-Type")]
        if self.view.get_throttles():
            errors.append((429, "Too many requests (Retry-After says when to try again)"))
        return errors
