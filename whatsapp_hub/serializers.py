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


class StrictFieldsMixin:
    """Refuse input keys the serializer does not declare (a typo must not be silently dropped)."""

    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data.keys()) - writable)
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


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
