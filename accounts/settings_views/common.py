"""What the settings pages share: a service's refusal shown next to its fields, the not-found page, paging."""

from collections.abc import Iterator

from django import forms
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.web import permission_denied
from whatsapp_hub.errors import ServiceError

PAGE_SIZE = 50


def not_found(request):
    """A row that is not in the organization, whether it exists elsewhere or not: the same answer."""
    return permission_denied(request, reason=_("This item does not exist, or it has been deleted."), status=404)


def _field_messages(errors: dict) -> Iterator[tuple[str, list]]:
    for key, value in errors.items():
        if isinstance(value, dict):  # nested, as the organization settings' {"settings": {key: [...]}}
            yield from _field_messages(value)
        else:
            yield key, value if isinstance(value, list) else [value]


def show_service_error(form: forms.Form, refused: ServiceError) -> None:
    """Each of the service's messages next to the form field it names; the detail above the form when it names
    none of them."""
    placed = False
    for field, messages in _field_messages(refused.errors or {}):
        if field in form.fields:
            form.add_error(field, messages)
            placed = True
    if not placed:
        form.add_error(None, refused.detail)


def page_of(request, queryset: QuerySet) -> Page:
    """The requested page of a list (?page=; out of range gives the last page)."""
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
