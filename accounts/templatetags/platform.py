"""Template helpers of the platform pages."""

from babel.numbers import format_currency
from django import template
from django.utils.translation import get_language

register = template.Library()


@register.simple_tag
def money(amount, currency: str) -> str:
    """`amount` in `currency` (ISO 4217) written the way the page's language writes money ("—" without a currency)."""
    if not currency:
        return "—"
    return format_currency(amount or 0, currency, locale=(get_language() or "en").replace("-", "_"))
