from django.http import QueryDict
from rest_framework import serializers
from rest_framework.fields import empty

# The largest id a row can have (BigAutoField). A larger number in the input must be refused there:
# in a query it overflows the database driver (a 500).
MAX_ID = 2**63 - 1


def id_field(**kwargs) -> serializers.IntegerField:
    """A row id in the input: a positive integer the database can hold."""
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


class OptionalBooleanField(serializers.BooleanField):
    """Absent from a query string or multipart form means not given (DRF's BooleanField reads it as False)."""

    default_empty_html = empty


# The JSON types a field takes, as the schema documents them (DRF would also take "5" for 5, 5 for "5", "yes" for true).
JSON_TYPES = (
    (serializers.BooleanField, (bool,), "Must be true or false."),
    (serializers.CharField, (str,), "Not a valid string."),
    (serializers.IntegerField, (int,), "A valid integer is required."),
    (serializers.FloatField, (int, float), "A valid number is required."),
)


def _json_type_error(field: serializers.Field, value) -> str | None:
    """Why `value` (from a JSON body) is not of the JSON type `field` documents, or None."""
    if value is None:
        return None
    for field_class, types, message in JSON_TYPES:
        if isinstance(field, field_class):
            wrong_bool = isinstance(value, bool) and bool not in types
            return message if wrong_bool or not isinstance(value, types) else None
    if isinstance(field, serializers.ListField) and isinstance(value, list):
        return next((error for item in value if (error := _json_type_error(field.child, item))), None)
    return None


class StrictFieldsMixin:
    """Refuse input keys the serializer does not declare (a typo must not be silently dropped), and, in a JSON body,
    values of another JSON type than the field's (multipart forms carry only strings: DRF converts those)."""

    def to_internal_value(self, data):
        if not hasattr(data, "keys"):
            return super().to_internal_value(data)
        writable = {name for name, field in self.fields.items() if not field.read_only}
        unknown = sorted(set(data.keys()) - writable)
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        mistyped = {}
        if not isinstance(data, QueryDict):
            errors = ((name, _json_type_error(self.fields[name], value)) for name, value in data.items())
            mistyped = {name: [error] for name, error in errors if error}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({**exc.detail, **mistyped}) from None
        if mistyped:
            raise serializers.ValidationError(mistyped)
        return value


class StrictSerializer(StrictFieldsMixin, serializers.Serializer):
    pass


class StrictModelSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    pass


class AdminOnlyFieldsMixin:
    """Output serializers: `admin_only_fields` are left out unless `context["admin"]` is true (the view says whether
    the caller is an admin). The OpenAPI schema lists them as optional (whatsapp_hub.schema)."""

    admin_only_fields: tuple[str, ...] = ()

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not self.context.get("admin"):
            for name in self.admin_only_fields:
                del data[name]
        return data
