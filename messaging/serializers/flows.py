"""API shapes of WhatsApp Flows and their responses."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from messaging.models import FlowResponse, WhatsAppFlow
from messaging.selectors.flows import response_fields
from messaging.services.flows import validation_messages
from whatsapp_hub.serializers import StrictSerializer, id_field


class ValidationErrorSerializer(serializers.Serializer):
    """One of Meta's validation errors of a Flow JSON."""

    error = serializers.CharField()
    error_type = serializers.CharField(required=False)
    message = serializers.CharField()
    line_start = serializers.IntegerField(required=False)
    line_end = serializers.IntegerField(required=False)
    column_start = serializers.IntegerField(required=False)
    column_end = serializers.IntegerField(required=False)
    pointers = serializers.ListField(child=serializers.DictField(), required=False)


class WhatsAppFlowSerializer(serializers.ModelSerializer):
    """A WhatsApp Flow as the hub mirrors it: Meta's id and status (kept up to date by Meta's `flows` webhook), the
    Flow JSON last uploaded and what Meta found wrong in it (`validation_errors`, Meta's objects;
    `validation_messages`, one readable line each), and Meta's latest health alert."""

    number_id = serializers.IntegerField(read_only=True)
    categories = serializers.ListField(child=serializers.ChoiceField(choices=WhatsAppFlow.Category.choices))
    flow_json = serializers.JSONField(read_only=True, allow_null=True)
    validation_errors = ValidationErrorSerializer(many=True, read_only=True)
    validation_messages = serializers.SerializerMethodField()
    first_screen = serializers.CharField(read_only=True)
    response_count = serializers.IntegerField(read_only=True, default=0)
    last_alert = serializers.DictField(
        read_only=True,
        help_text="Meta's latest health alert of the flow ({} before any): `event` (ENDPOINT_ERROR_RATE, "
        "ENDPOINT_LATENCY, ENDPOINT_AVAILABILITY, CLIENT_ERROR_RATE, FLOW_VERSION_EXPIRY_WARNING), `alert_state` "
        "(ACTIVATED, DEACTIVATED), Meta's `message`, and the figures Meta gave (threshold, error_rate, errors, "
        "p90_latency, p50_latency, requests_count, availability)",
    )

    class Meta:
        model = WhatsAppFlow
        fields = [
            "id",
            "number_id",
            "waba_id",
            "meta_flow_id",
            "name",
            "categories",
            "status",
            "flow_json",
            "validation_errors",
            "validation_messages",
            "first_screen",
            "response_count",
            "last_alert",
            "last_alert_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def to_representation(self, flow):
        data = super().to_representation(flow)
        data["first_screen"] = flow.first_screen()
        return data

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_validation_messages(self, flow: WhatsAppFlow) -> list[str]:
        return validation_messages(flow.validation_errors or [])


@extend_schema_field({"oneOf": [{"type": "object"}, {"type": "string"}]})
class FlowJsonField(serializers.JSONField):
    """The Flow JSON: an object, or its text (checked by the service)."""


class WhatsAppFlowCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    categories = serializers.ListField(
        child=serializers.ChoiceField(choices=WhatsAppFlow.Category.choices), min_length=1, max_length=8
    )
    flow_json = FlowJsonField(required=False, help_text="The Flow JSON (object or text); uploaded to Meta, checked")
    number_id = id_field(required=False, help_text="The number whose WhatsApp Business Account owns the flow")


class WhatsAppFlowUpdateSerializer(StrictSerializer):
    """What to change of a draft flow: any of name, categories, flow_json (uploaded as the flow's asset)."""

    name = serializers.CharField(max_length=200, required=False)
    categories = serializers.ListField(
        child=serializers.ChoiceField(choices=WhatsAppFlow.Category.choices), min_length=1, max_length=8, required=False
    )
    flow_json = FlowJsonField(required=False)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Give at least one of name, categories, flow_json.")
        return attrs


class FlowPreviewSerializer(serializers.Serializer):
    preview_url = serializers.URLField(allow_blank=True, help_text="Blank for a sandbox flow (nothing to preview)")
    expires_at = serializers.DateTimeField(allow_null=True)


class FlowFieldSerializer(serializers.Serializer):
    field = serializers.CharField()
    value = serializers.CharField()


class FlowResponseSerializer(serializers.ModelSerializer):
    """What a customer submitted: `response_json` as Meta gave it, `fields` as (field, value) a person reads."""

    flow_id = serializers.IntegerField(read_only=True, allow_null=True)
    contact_id = serializers.IntegerField(read_only=True)
    contact_name = serializers.SerializerMethodField()
    conversation_id = serializers.IntegerField(read_only=True)
    message_id = serializers.IntegerField(read_only=True)
    response_json = serializers.JSONField(read_only=True)
    fields = serializers.SerializerMethodField(method_name="fields_of")

    class Meta:
        model = FlowResponse
        fields = [
            "id",
            "flow_id",
            "contact_id",
            "contact_name",
            "conversation_id",
            "message_id",
            "flow_token",
            "response_json",
            "fields",
            "received_at",
        ]
        read_only_fields = fields

    def get_contact_name(self, response: FlowResponse) -> str:
        return response.contact.display_name

    @extend_schema_field(FlowFieldSerializer(many=True))
    def fields_of(self, response: FlowResponse) -> list[dict]:
        return [{"field": key, "value": value} for key, value in response_fields(response.response_json or {})]


class FlowResponsesQuerySerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=["json", "csv"], required=False, help_text="csv: download them all")
    page = serializers.IntegerField(min_value=1, required=False)
    page_size = serializers.IntegerField(min_value=1, max_value=100, required=False)


class FlowResponsePageSerializer(serializers.Serializer):
    """A page of responses (the API's page style)."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = FlowResponseSerializer(many=True)
