"""The templates list's filters (django-filter), for the API's list and the templates page alike."""

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from messaging.models import WhatsAppNumber
from messaging.selectors.access import request_visible_numbers
from messaging.selectors.numbers import number_list
from templates import selectors
from templates.models import MessageTemplate


def _visible_numbers(request) -> QuerySet[WhatsAppNumber]:
    if request is None:  # the schema
        return WhatsAppNumber.objects.none()
    return number_list(org=request.org, number_ids=request_visible_numbers(request))


class TemplateFilter(filters.FilterSet):
    status = filters.ChoiceFilter(
        choices=MessageTemplate.Status.choices, help_text="Deleted templates are listed only with status=DELETED"
    )
    category = filters.ChoiceFilter(choices=MessageTemplate.Category.choices)
    language = filters.CharFilter(max_length=16, help_text="Meta's code, e.g. en_US")
    number = filters.ModelChoiceFilter(
        queryset=_visible_numbers,
        method="filter_number",
        help_text="The templates this number can send (its account's)",
    )
    search = filters.CharFilter(method="filter_search", help_text="Name or text contains")

    class Meta:
        model = MessageTemplate
        fields = ["status", "category", "language", "number", "search"]

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if self.form.cleaned_data.get("status") != MessageTemplate.Status.DELETED:
            queryset = queryset.live()
        return queryset

    @extend_schema_field(OpenApiTypes.INT)
    def filter_number(self, queryset, name, value):
        return selectors.templates_of_number(queryset, number=value)

    def filter_search(self, queryset, name, value):
        return selectors.templates_matching(queryset, text=value)
