"""API shapes of WhatsApp numbers, settings/whatsapp and WAHA sessions. Secrets are write-only: shown masked."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from messaging.models import Provider, WhatsAppNumber
from messaging.selectors.numbers import number_webhook_url
from whatsapp_hub.encryption import mask
from whatsapp_hub.serializers import MAX_ID, StrictSerializer

SECRET_MAX_LENGTH = 1024
# Both go into URLs (our webhook path; WAHA's session paths): nothing but these characters.
META_ID = r"^\d{1,64}$"
WAHA_SESSION = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"


@extend_schema_field(OpenApiTypes.STR)
class _Masked(serializers.Field):
    """A secret as a response shows it: '...abcd', or null when unset."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, allow_null=True, **kwargs)

    def to_representation(self, value):
        return mask(value)


class NumberSerializer(serializers.ModelSerializer):
    access_token = _Masked()
    app_secret = _Masked()
    verify_token = _Masked()
    waha_api_key = _Masked()
    waha_webhook_hmac_key = _Masked()
    # Blank when unset (the hub's WAHA_URL; no session yet): a plain string, not a URI or one of the states.
    waha_base_url = serializers.CharField(read_only=True)
    session_status = serializers.ChoiceField(
        choices=WhatsAppNumber.SessionStatus.choices, allow_blank=True, read_only=True
    )
    webhook_url = serializers.SerializerMethodField()

    class Meta:
        model = WhatsAppNumber
        fields = [
            "id",
            "display_name",
            "phone_number",
            "provider",
            "status",
            "is_primary",
            "throughput",
            "phone_number_id",
            "waba_id",
            "access_token",
            "app_secret",
            "verify_token",
            "waha_session",
            "waha_base_url",
            "waha_api_key",
            "waha_webhook_hmac_key",
            "session_status",
            "webhook_url",
            "assigned_user",
            "assigned_team",
            "created_at",
        ]
        read_only_fields = fields

    def get_webhook_url(self, number: WhatsAppNumber) -> str | None:
        return number_webhook_url(number)


def _secret(**kwargs) -> serializers.CharField:
    return serializers.CharField(
        max_length=SECRET_MAX_LENGTH, required=False, allow_blank=True, trim_whitespace=True, **kwargs
    )


class NumberInputSerializer(StrictSerializer):
    """Create and PATCH body. Fields of another provider are refused; secrets omitted on PATCH stay unchanged."""

    display_name = serializers.CharField(max_length=WhatsAppNumber._meta.get_field("display_name").max_length)
    phone_number = serializers.CharField(max_length=32, required=False, allow_blank=True, help_text="E.164")
    provider = serializers.ChoiceField(choices=Provider.choices, default=Provider.CLOUD)
    is_primary = serializers.BooleanField(required=False)
    throughput = serializers.IntegerField(min_value=1, max_value=1000, required=False)
    status = serializers.ChoiceField(choices=WhatsAppNumber.Status.choices, required=False)
    phone_number_id = serializers.RegexField(
        META_ID, required=False, allow_blank=True, error_messages={"invalid": "Meta's ids are digits."}
    )
    waba_id = serializers.RegexField(
        META_ID, required=False, allow_blank=True, error_messages={"invalid": "Meta's ids are digits."}
    )
    access_token = _secret()
    app_secret = _secret()
    verify_token = _secret()
    waha_session = serializers.RegexField(
        WAHA_SESSION,
        required=False,
        allow_blank=True,
        error_messages={"invalid": "Up to 64 letters, digits, '-' and '_', starting with a letter or a digit."},
    )
    waha_base_url = serializers.URLField(max_length=200, required=False, allow_blank=True)
    waha_api_key = _secret()
    waha_webhook_hmac_key = _secret()

    def validate(self, attrs):
        if self.partial and "provider" in self.initial_data:
            raise serializers.ValidationError(
                {"provider": ["The provider of a number cannot change: connect a new number instead."]}
            )
        if not self.partial and attrs.get("status"):
            raise serializers.ValidationError({"status": ["A new number's status is set by the hub."]})
        return attrs


class AssignSerializer(StrictSerializer):
    """The number's new assignment: omitted or null clears."""

    user_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, allow_null=True, default=None)
    team_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, allow_null=True, default=None)


class WhatsAppSettingsSerializer(serializers.Serializer):
    configured = serializers.BooleanField()
    phone_number_id = serializers.CharField(allow_null=True)
    waba_id = serializers.CharField(allow_null=True)
    masked_token = serializers.CharField(allow_null=True)


class WhatsAppSettingsInputSerializer(StrictSerializer):
    whatsapp_token = serializers.CharField(max_length=SECRET_MAX_LENGTH)
    phone_number_id = serializers.RegexField(META_ID, error_messages={"invalid": "Meta's ids are digits."})
    waba_id = serializers.RegexField(META_ID, error_messages={"invalid": "Meta's ids are digits."})
    verify_token = serializers.CharField(max_length=SECRET_MAX_LENGTH)
    app_secret = serializers.CharField(max_length=SECRET_MAX_LENGTH, required=False)


class SavedSerializer(serializers.Serializer):
    status = serializers.CharField()
    message = serializers.CharField()


class WahaSessionSerializer(serializers.Serializer):
    name = serializers.CharField()
    status = serializers.CharField(help_text="STOPPED, STARTING, SCAN_QR_CODE, WORKING or FAILED")
    me = serializers.JSONField(allow_null=True, help_text="WAHA's account of the linked phone, once WORKING")


class PairingCodeInputSerializer(StrictSerializer):
    phone_number = serializers.CharField(max_length=32, help_text="The phone to link, E.164")


class PairingCodeSerializer(serializers.Serializer):
    code = serializers.CharField()
