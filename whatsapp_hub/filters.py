"""django-filter pieces shared by the API's filter sets."""

from datetime import UTC

from django import forms
from django_filters import fields
from django_filters import rest_framework as filters


class _UtcIsoDateTimeField(fields.IsoDateTimeField):
    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError:  # 0001-01-01T00:00+05:00 is before the first day Python knows
            raise forms.ValidationError("Out of the range of dates.", code="invalid") from None


class IsoDateTimeFilter(filters.IsoDateTimeFilter):
    """An ISO 8601 date-time, turned into UTC before it reaches the database: PostgreSQL refuses the offsets beyond
    ±15:59 that ISO 8601 and Python allow (that was a 500), and a time at the edge of the calendar is a 400."""

    field_class = _UtcIsoDateTimeField
