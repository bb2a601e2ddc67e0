"""API shapes of campaigns (the seed's names kept: total_contacts, campaign_id, the log's contact_number ...)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from campaigns.models import Campaign, CampaignRecipient
from whatsapp_hub.serializers import MAX_ID, StrictSerializer, id_field

MAX_CONTACT_IDS = 100_000


class CampaignSerializer(serializers.ModelSerializer):
    number_id = serializers.IntegerField(read_only=True)
    tag = serializers.SlugRelatedField(
        slug_field="name", read_only=True, allow_null=True, help_text="The audience's tag (audience tag)"
    )
    total_contacts = serializers.IntegerField(source="total", read_only=True, help_text="The seed's name of total")
    pending = serializers.IntegerField(read_only=True)
    contact_count = serializers.SerializerMethodField(help_text="Chosen contacts (audience contacts or csv)")

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "number_id",
            "template_name",
            "language",
            "audience",
            "tag",
            "contact_count",
            "variable_mapping",
            "scheduled_at",
            "status",
            "warning",
            "total",
            "total_contacts",
            "pending",
            "sent",
            "delivered",
            "read",
            "replied",
            "failed",
            "skipped",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_contact_count(self, campaign: Campaign) -> int:
        return len(campaign.contact_ids)


@extend_schema_field(
    {
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": ["contact_field", "static"]},
            "value": {
                "oneOf": [{"type": "string"}, {"type": "number"}, {"type": "object", "additionalProperties": True}],
                "description": "contact_field: name, display_name, phone, wa_id, profile_name or attributes.<key>; "
                "static: the text, or Meta's object (currency, date_time, a media link, a location)",
            },
            "fallback": {"type": "string", "description": "contact_field: the text when the field is empty"},
        },
        "required": ["type", "value"],
    }
)
class _MappedValue(serializers.JSONField):
    pass


class FiltersSerializer(StrictSerializer):
    tag = serializers.CharField(max_length=64, help_text="The name of the contacts' tag")


class CampaignInputSerializer(StrictSerializer):
    """Create (POST campaigns/) and PATCH body. The audience: `contact_ids`, `filters.tag`, `audience: "all"`, or
    `audience: "csv"` (then upload the numbers to campaigns/{id}/audience)."""

    name = serializers.CharField(max_length=Campaign._meta.get_field("name").max_length)
    number_id = id_field(required=False, allow_null=True, help_text="The sending number (default: the primary one)")
    template_name = serializers.RegexField(r"^[a-z0-9_]{1,512}$", help_text="An approved template's name")
    language = serializers.RegexField(r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,4})?$", help_text="e.g. en_US")
    contact_ids = serializers.ListField(child=id_field(), max_length=MAX_CONTACT_IDS, required=False)
    filters = FiltersSerializer(required=False)
    audience = serializers.ChoiceField(choices=Campaign.Audience.choices, required=False)
    variable_mapping = serializers.DictField(child=_MappedValue(), required=False, help_text="Per placeholder key")
    scheduled_at = serializers.DateTimeField(required=False, allow_null=True, help_text="UTC unless an offset is given")

    def validate_language(self, value: str) -> str:
        return value.replace("-", "_")


class CampaignSendSerializer(CampaignInputSerializer):
    """The seed's POST campaigns/send: create and start (or schedule) in one call."""

    allow_partial = serializers.BooleanField(
        required=False, default=False, help_text="Start even when the audience exceeds the messaging limit left"
    )


class CampaignSendResultSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="success")
    campaign_id = serializers.IntegerField(max_value=MAX_ID)
    campaign_status = serializers.ChoiceField(choices=Campaign.Status.choices)
    message = serializers.CharField()


class CampaignStartSerializer(StrictSerializer):
    allow_partial = serializers.BooleanField(
        required=False, default=False, help_text="Start even when the audience exceeds the messaging limit left"
    )


class AudiencePreviewInputSerializer(CampaignInputSerializer):
    name = serializers.CharField(max_length=200, required=False)


class _SkipSerializer(serializers.Serializer):
    reason = serializers.CharField()
    count = serializers.IntegerField()


class _SampleSerializer(serializers.Serializer):
    contact_id = serializers.IntegerField()
    contact_name = serializers.CharField()
    contact_number = serializers.CharField()
    preview = serializers.CharField(help_text="The message as this contact would read it")
    error = serializers.CharField(help_text="Why this contact's values are refused ('' when they are not)")


class AudiencePreviewSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Contacts in the audience")
    count = serializers.IntegerField(help_text="Contacts it would be sent to")
    skipped = _SkipSerializer(many=True)
    sample = _SampleSerializer(many=True)


class AudienceUploadSerializer(StrictSerializer):
    file = serializers.FileField(help_text="CSV, UTF-8: a number (or phone) column; name and tags optional")


class AudienceUploadResultSerializer(serializers.Serializer):
    total_rows = serializers.IntegerField()
    contacts = serializers.IntegerField(help_text="Distinct numbers now in the audience")
    imported = serializers.IntegerField(help_text="New contacts")
    skipped = serializers.IntegerField(help_text="Rows without a possible number")
    errors = serializers.ListField(child=serializers.CharField())


class RecipientLogSerializer(serializers.ModelSerializer):
    """One line of a campaign's log (the seed's shape, plus ids and codes)."""

    contact_id = serializers.IntegerField(read_only=True)
    contact_number = serializers.CharField(source="phone", read_only=True)
    contact_name = serializers.CharField(source="contact.display_name", read_only=True)
    message_id = serializers.SerializerMethodField(help_text="WhatsApp's id of the message (wamid)")
    error = serializers.SerializerMethodField(help_text="Meta's error title, or why the recipient was skipped")

    class Meta:
        model = CampaignRecipient
        fields = [
            "id",
            "contact_id",
            "contact_number",
            "contact_name",
            "status",
            "message_id",
            "sent_at",
            "replied_at",
            "error_code",
            "error",
        ]
        read_only_fields = fields

    def get_message_id(self, recipient: CampaignRecipient) -> str | None:
        return recipient.message.provider_message_id if recipient.message else None

    def get_error(self, recipient: CampaignRecipient) -> str | None:
        return recipient.error_title or None
