"""What every page's forms share: a service's refusal shown next to the fields it names."""

from collections.abc import Iterator

from django import forms

from whatsapp_hub.errors import ServiceError


def _field_messages(errors: dict) -> Iterator[tuple[str, list]]:
    for key, value in errors.items():
        if isinstance(value, dict):  # nested, as the organization settings' {"settings": {key: [...]}}
            yield from _field_messages(value)
        else:
            yield key, value if isinstance(value, list) else [value]


def show_service_error(form: forms.Form, refused: ServiceError, *, fields: dict[str, str] | None = None) -> None:
    """Each of the service's messages next to the form field it names (`fields` maps a service argument to a form
    field where their names differ); the detail above the form when it names none of them, and the messages of
    fields the form lacks above it too."""
    placed, elsewhere = False, []
    for name, messages in _field_messages(refused.errors or {}):
        field = (fields or {}).get(name, name)
        if field in form.fields:
            form.add_error(field, messages)
            placed = True
        else:
            elsewhere += messages
    if not placed:
        form.add_error(None, refused.detail)
    elif elsewhere:
        form.add_error(None, elsewhere)
