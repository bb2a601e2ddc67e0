"""API shapes of WhatsApp numbers, settings/whatsapp and WAHA sessions. Secrets are write-only: shown masked.
The create and PATCH body of a number is messaging.number_fields.NumberInputSerializer (the service checks it too)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from messaging import extensions
from messaging.models import WhatsAppNumber
from messaging.number_fields import NumberInputSerializer, meta_id_field, secret_field
from messaging.selectors.numbers import number_webhook_url
from whatsapp_hub.encryption import mask
from whatsapp_hub.serializers import MAX_ID, AdminOnlyFieldsMixin, StrictSerializer


@extend_schema_field({"type": "string", "nullable": True})
class _Masked(serializers.Field):
    """A secret as a response shows it: '...abcd', or null when unset."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, allow_null=True, **kwargs)

    def to_representation(self, value):
        return mask(value)


class _NumberListSerializer(serializers.ListSerializer):
    def to_representation(self, data):
        numbers = list(data.all() if hasattr(data, "all") else data)
        extensions.number_values_load(numbers)  # the apps' fields of the whole page at once
        return super().to_representation(numbers)


class NumberSerializer(AdminOnlyFieldsMixin, serializers.ModelSerializer):
    """A number as members see it; admins (`context["admin"]`) also see its masked secrets and WAHA server. The
    apps built on messaging add fields of their own (messaging/extensions.py: automation's `bot_id`, `flow_id`)."""

    admin_only_fields = (
        "access_token",
        "app_secret",
        "verify_token",
        "waha_base_url",
        "waha_api_key",
        "waha_webhook_hmac_key",
    )

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
            "messaging_limit_tier",
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
        list_serializer_class = _NumberListSerializer

    def get_fields(self):
        return {**super().get_fields(), **extensions.number_output_fields()}

    def to_representation(self, number: WhatsAppNumber) -> dict:
        extensions.number_values_load([number])
        return super().to_representation(number)

    def get_webhook_url(self, number: WhatsAppNumber) -> str | None:
        return number_webhook_url(number)


class NumberUpdateSerializer(NumberInputSerializer):
    """PUT and PATCH body: both change only the fields given (PUT takes the seed's `{bot_id, flow_id,
    display_name}`). Besides the number's own fields, those the apps built on messaging add (messaging/extensions.py:
    automation's `bot_id` and `flow_id`, null to unset)."""

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            field.required = False
        return {**fields, **extensions.number_input_fields()}


class AssignSerializer(StrictSerializer):
    """The number's new assignment: omitted or null clears."""

    user_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, allow_null=True, default=None)
    team_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, allow_null=True, default=None)


class WhatsAppSettingsSerializer(AdminOnlyFieldsMixin, serializers.Serializer):
    admin_only_fields = ("masked_token",)

    configured = serializers.BooleanField()
    phone_number_id = serializers.CharField(allow_null=True)
    waba_id = serializers.CharField(allow_null=True)
    masked_token = serializers.CharField(allow_null=True)


class WhatsAppSettingsInputSerializer(StrictSerializer):
    whatsapp_token = secret_field()
    phone_number_id = meta_id_field()
    waba_id = meta_id_field()
    verify_token = secret_field()
    app_secret = secret_field(required=False)


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
