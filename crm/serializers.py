"""API shapes of the CRM: businesses, pipelines and stages, deals (+ history and totals per stage), sales team."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crm import currencies
from crm.models import Business, Deal, DealHistory, Outcome, Pipeline, SalesMember, Stage
from messaging.serializers.conversations import ContactBriefSerializer
from whatsapp_hub.serializers import StrictSerializer, id_field

NOTES_MAX = 10000


MONEY_SCHEMA = {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$"}


def money(value, currency: str) -> str:
    """A value as a decimal string with its currency's minor units ("1250.00" USD, "1250" JPY, "1.500" KWD)."""
    if currency in currencies.MINOR_UNITS:
        return str(currencies.quantize(value, currency))
    return str(value)


@extend_schema_field(MONEY_SCHEMA)
class MoneyField(serializers.Field):
    """A value (a deal, or a total: `value` and `currency`) as a decimal string with its currency's minor units."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, row) -> str:
        if isinstance(row, dict):
            return money(row["value"], row["currency"])
        return money(row.value, row.currency)


class UserBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    email = serializers.EmailField()


class BusinessSerializer(serializers.ModelSerializer):
    website = serializers.CharField(read_only=True, help_text="A URL, or empty")
    owner = UserBriefSerializer(read_only=True, allow_null=True)
    contacts_count = serializers.IntegerField(read_only=True)
    open_deals_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Business
        fields = [
            "id",
            "name",
            "website",
            "industry",
            "phone",
            "address",
            "tags",
            "notes",
            "owner",
            "contacts_count",
            "open_deals_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class BusinessInputSerializer(StrictSerializer):
    """`contact_ids` sent replace the business's contacts (a contact in another business moves here)."""

    name = serializers.CharField(max_length=200)
    website = serializers.URLField(max_length=300, allow_blank=True, required=False)
    industry = serializers.CharField(max_length=120, allow_blank=True, required=False)
    phone = serializers.CharField(max_length=32, allow_blank=True, required=False)
    address = serializers.CharField(max_length=1000, allow_blank=True, required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=50), max_length=50, required=False)
    notes = serializers.CharField(max_length=NOTES_MAX, allow_blank=True, required=False)
    owner_id = id_field(allow_null=True, required=False)
    contact_ids = serializers.ListField(child=id_field(), max_length=500, required=False)


class StageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Stage
        fields = ["id", "pipeline_id", "name", "position", "outcome"]
        read_only_fields = fields


class StageInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=120)
    outcome = serializers.ChoiceField(choices=Outcome.choices, required=False)


class PipelineSerializer(serializers.ModelSerializer):
    stages = StageSerializer(many=True, read_only=True)

    class Meta:
        model = Pipeline
        fields = ["id", "name", "is_default", "stages", "created_at"]
        read_only_fields = fields


class PipelineInputSerializer(StrictSerializer):
    """`stages` (create only): the new pipeline's stages in order; without them it gets the default five."""

    name = serializers.CharField(max_length=120)
    stages = StageInputSerializer(many=True, required=False, max_length=30, allow_empty=False)


class StageReorderSerializer(StrictSerializer):
    stage_ids = serializers.ListField(child=id_field(), min_length=1, max_length=30)


class DealSerializer(serializers.ModelSerializer):
    value = MoneyField()
    stage_name = serializers.CharField(source="stage.name", read_only=True)
    owner = UserBriefSerializer(read_only=True, allow_null=True)
    contact = ContactBriefSerializer(read_only=True, allow_null=True)
    business_name = serializers.CharField(source="business.name", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Deal
        fields = [
            "id",
            "title",
            "value",
            "currency",
            "pipeline_id",
            "stage_id",
            "stage_name",
            "status",
            "lost_reason",
            "owner",
            "contact",
            "business_id",
            "business_name",
            "conversation_id",
            "expected_close_date",
            "source",
            "ad_id",
            "notes",
            "created_at",
            "updated_at",
            "closed_at",
        ]
        read_only_fields = fields


class DealInputSerializer(StrictSerializer):
    """Create and update body. `value` is a decimal (string or number) with at most the currency's minor units;
    `currency` an ISO 4217 code. `stage_id` moves the deal (its status follows the stage's outcome: Won, Lost);
    `status` alone moves it to the pipeline's first stage of that outcome. `lost` needs a `lost_reason`."""

    title = serializers.CharField(max_length=200)
    value = serializers.DecimalField(max_digits=18, decimal_places=4, required=False)
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", max_length=3)
    pipeline_id = id_field(required=False)
    stage_id = id_field(required=False)
    status = serializers.ChoiceField(choices=Outcome.choices, required=False)
    lost_reason = serializers.CharField(max_length=500, allow_blank=True, required=False)
    owner_id = id_field(allow_null=True, required=False)
    contact_id = id_field(allow_null=True, required=False)
    business_id = id_field(allow_null=True, required=False)
    conversation_id = id_field(allow_null=True, required=False)
    expected_close_date = serializers.DateField(allow_null=True, required=False)
    source = serializers.ChoiceField(choices=Deal.Source.choices, required=False)
    ad_id = id_field(allow_null=True, required=False)
    notes = serializers.CharField(max_length=NOTES_MAX, allow_blank=True, required=False)

    def validate_currency(self, value: str) -> str:
        return value.upper()


class StageTotalValueSerializer(serializers.Serializer):
    currency = serializers.CharField()
    value = MoneyField()


class StageTotalSerializer(serializers.Serializer):
    stage_id = serializers.IntegerField()
    count = serializers.IntegerField()
    values = StageTotalValueSerializer(many=True)


class DealHistorySerializer(serializers.ModelSerializer):
    actor = UserBriefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = DealHistory
        fields = [
            "id",
            "from_stage_id",
            "from_stage_name",
            "to_stage_id",
            "to_stage_name",
            "from_status",
            "to_status",
            "lost_reason",
            "actor",
            "at",
        ]
        read_only_fields = fields


class ConversationBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    number_id = serializers.IntegerField()
    contact_id = serializers.IntegerField()
    last_message_at = serializers.DateTimeField(allow_null=True)


class BusinessDetailSerializer(BusinessSerializer):
    """A business with (up to 100 each) its contacts, the conversations with them the caller may see, its deals."""

    contacts = serializers.SerializerMethodField()
    conversations = serializers.SerializerMethodField()
    deals = serializers.SerializerMethodField()

    class Meta(BusinessSerializer.Meta):
        fields = [*BusinessSerializer.Meta.fields, "contacts", "conversations", "deals"]
        read_only_fields = fields

    @extend_schema_field(ContactBriefSerializer(many=True))
    def get_contacts(self, business):
        return ContactBriefSerializer(self.context["contacts"], many=True).data

    @extend_schema_field(ConversationBriefSerializer(many=True))
    def get_conversations(self, business):
        return ConversationBriefSerializer(self.context["conversations"], many=True).data

    @extend_schema_field(DealSerializer(many=True))
    def get_deals(self, business):
        return DealSerializer(self.context["deals"], many=True).data


class BusinessBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class CustomerCrmSerializer(serializers.Serializer):
    """A contact's business and open deals (the inbox's contact panel)."""

    business = BusinessBriefSerializer(allow_null=True)
    open_deals = DealSerializer(many=True)


class CustomerBusinessSerializer(StrictSerializer):
    business_id = id_field(allow_null=True)


class SalesMemberSerializer(serializers.ModelSerializer):
    is_member = serializers.BooleanField(
        read_only=True, help_text="Has an account in the organization (else invited, as an agent)"
    )

    class Meta:
        model = SalesMember
        fields = ["id", "name", "email", "phone", "is_member", "created_at"]
        read_only_fields = fields


class SalesMemberCreatedSerializer(SalesMemberSerializer):
    status = serializers.CharField(help_text='"success"')
    member_id = serializers.IntegerField()

    class Meta(SalesMemberSerializer.Meta):
        fields = ["status", "member_id", *SalesMemberSerializer.Meta.fields]
        read_only_fields = fields


class SalesMemberInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=150)
    email = serializers.EmailField(max_length=254)
    phone = serializers.CharField(max_length=32, allow_blank=True, required=False)


class SalesMemberUpdateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=150, required=False)
    phone = serializers.CharField(max_length=32, allow_blank=True, required=False)
