"""The format of a number's fields, checked by messaging.services.numbers whoever calls it: the API, the Django
admin, settings/whatsapp.

`check(values)` takes some of a number's fields (as number_create and number_update take them) and returns them
cleaned (text trimmed); a refusal is a ServiceError (400) whose `errors` name the fields with the API's messages.
The rules are declared once, as the API's request body (NumberInputSerializer, its request schema too), with DRF
serializers used as a validation library, like messaging.message_parts: nothing here needs a request. Rules about
the number itself (which fields its provider takes, what it cannot do without, uniqueness) stay in the service.
"""

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext_lazy
from rest_framework import serializers

from messaging.models import MessagingLimitTier, Provider, WhatsAppNumber
from whatsapp_hub.errors import invalid_input
from whatsapp_hub.serializers import StrictSerializer

SECRET_MAX_LENGTH = 1024
# Both go into URLs (our webhook path; WAHA's session paths): nothing but these characters.
META_ID = r"^\d{1,64}$"
WAHA_SESSION = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"


def meta_id_field(**kwargs) -> serializers.RegexField:
    """phone_number_id, waba_id: Meta's ids."""
    return serializers.RegexField(META_ID, error_messages={"invalid": gettext_lazy("Meta's ids are digits.")}, **kwargs)


def secret_field(**kwargs) -> serializers.CharField:
    return serializers.CharField(max_length=SECRET_MAX_LENGTH, **kwargs)


def _optional_secret() -> serializers.CharField:
    return secret_field(required=False, allow_blank=True)


class NumberInputSerializer(StrictSerializer):
    """Create and PATCH body. Fields of another provider are refused; secrets omitted on PATCH stay unchanged; the
    provider of a number cannot change; a new number's status is set by the hub."""

    display_name = serializers.CharField(max_length=WhatsAppNumber._meta.get_field("display_name").max_length)
    phone_number = serializers.CharField(max_length=32, required=False, allow_blank=True, help_text="E.164")
    provider = serializers.ChoiceField(choices=Provider.choices, default=Provider.CLOUD)
    is_primary = serializers.BooleanField(required=False)
    throughput = serializers.IntegerField(min_value=1, max_value=1000, required=False)
    messaging_limit_tier = serializers.ChoiceField(
        choices=MessagingLimitTier.choices,
        required=False,
        help_text="Meta's messaging limit (customers reached outside the 24-hour window per rolling 24 hours); "
        "Meta's webhooks update it",
    )
    status = serializers.ChoiceField(choices=WhatsAppNumber.Status.choices, required=False)
    phone_number_id = meta_id_field(required=False, allow_blank=True)
    waba_id = meta_id_field(required=False, allow_blank=True)
    access_token = _optional_secret()
    app_secret = _optional_secret()
    verify_token = _optional_secret()
    waha_session = serializers.RegexField(
        WAHA_SESSION,
        required=False,
        allow_blank=True,
        error_messages={
            "invalid": gettext_lazy("Up to 64 letters, digits, '-' and '_', starting with a letter or a digit.")
        },
    )
    # Not a URLField: Django's URL check wants a top-level domain, and a WAHA on the operator's private network
    # (EGRESS_ALLOWED_HOSTS) is often `http://waha:3000`. The service checks it against the egress policy.
    waha_base_url = serializers.CharField(
        max_length=WhatsAppNumber._meta.get_field("waha_base_url").max_length,
        required=False,
        allow_blank=True,
        help_text="The number's own WAHA server (http or https; a public address, or one the operator allows); "
        "blank: the hub's.",
    )
    waha_api_key = _optional_secret()
    waha_webhook_hmac_key = _optional_secret()


def check(values: Mapping[str, Any]) -> dict[str, Any]:
    """The given fields, cleaned; ServiceError (400, errors by field) for a field of the wrong format or one that
    numbers do not have. Only the fields given are checked (which are required is the service's business)."""
    serializer = NumberInputSerializer(data=dict(values), partial=True)
    if not serializer.is_valid():
        raise invalid_input(serializer.errors)
    return dict(serializer.validated_data)
