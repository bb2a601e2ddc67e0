"""API shapes of message templates and their syncs. What a new template may hold is checked by the create service
(templates.validation), which names the component at fault; these only take the request's fields."""

import json

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from templates import rendering
from templates.models import MessageTemplate, TemplateSync
from whatsapp_hub.serializers import StrictSerializer, id_field

# --- output ------------------------------------------------------------------------------------------------------


class PlaceholderSerializer(serializers.Serializer):
    """A value the template needs (or takes) when sent: `parameters[key]` of send and send-test."""

    key = serializers.CharField(help_text='"1", "first_name", "header.1", "header", "button.0"…')
    component = serializers.CharField(help_text="header, body or button")
    kind = serializers.CharField(help_text="text, image, video, document, location, url, copy_code, otp, payload…")
    label = serializers.CharField()
    example = serializers.CharField(help_text="Meta's example for it, when the template has one")
    required = serializers.BooleanField()
    name = serializers.CharField(help_text="The variable's name in the text, or the button's index")


class TemplateSerializer(serializers.ModelSerializer):
    """A template as Meta keeps it (`components` in Meta's shape), with what a sender needs: its `placeholders` and
    a text `preview` (placeholders as written)."""

    placeholders = serializers.SerializerMethodField()
    preview = serializers.SerializerMethodField()

    class Meta:
        model = MessageTemplate
        fields = [
            "id",
            "meta_id",
            "waba_id",
            "name",
            "language",
            "category",
            "sub_category",
            "status",
            "parameter_format",
            "components",
            "rejected_reason",
            "quality_score",
            "placeholders",
            "preview",
            "last_synced_at",
            "created_at",
            "updated_at",
            "deleted_at",
        ]
        read_only_fields = fields

    @extend_schema_field(PlaceholderSerializer(many=True))
    def get_placeholders(self, template: MessageTemplate) -> list[dict]:
        return [PlaceholderSerializer(placeholder).data for placeholder in rendering.placeholders(template)]

    def get_preview(self, template: MessageTemplate) -> str:
        return rendering.preview(template)


def template_data(template: MessageTemplate) -> dict:
    """A template as the API shows it, as plain data (the live `template.updated` push)."""
    return json.loads(json.dumps(TemplateSerializer(template).data))


class TemplateSyncSerializer(serializers.ModelSerializer):
    class Meta:
        model = TemplateSync
        fields = [
            "id",
            "waba_id",
            "status",
            "pages",
            "created",
            "updated",
            "deleted",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class TemplateSyncStartedSerializer(serializers.Serializer):
    sync_id = serializers.IntegerField(help_text="The first queued sync (the only one when number_id is given)")
    status = serializers.CharField(help_text="The first sync's status")
    syncs = TemplateSyncSerializer(many=True, help_text="One sync per WhatsApp Business Account")


# --- input -------------------------------------------------------------------------------------------------------


@extend_schema_field({"type": "array", "items": {"type": "object", "additionalProperties": True}})
class ComponentsField(serializers.Field):
    """Meta's components: a JSON list, or (in a multipart form, beside a header file) that list as a JSON string."""

    default_error_messages = {"invalid": "A list of components (in a form: that list as JSON)."}

    def to_internal_value(self, data):
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError:
                self.fail("invalid")
        if not isinstance(data, list):
            self.fail("invalid")
        return data

    def to_representation(self, value):
        return value


class TemplateCreateSerializer(StrictSerializer):
    """A new template, as Meta's create call takes it (reference §4.2), and where it goes."""

    name = serializers.CharField(help_text="At most 512 lowercase letters, digits and underscores")
    language = serializers.CharField(max_length=16, help_text="Meta's code: en, en_US, ar, pt_BR…")
    category = serializers.CharField(max_length=32, help_text="MARKETING, UTILITY or AUTHENTICATION")
    parameter_format = serializers.CharField(
        max_length=16, required=False, default="POSITIONAL", help_text="POSITIONAL ({{1}}) or NAMED ({{first_name}})"
    )
    components = ComponentsField(help_text="HEADER, BODY (required), FOOTER, BUTTONS, in Meta's shape")
    number_id = id_field(
        required=False, help_text="The number whose WhatsApp Business Account gets it (default: the first one)"
    )
    header_file = serializers.FileField(
        required=False, help_text="A media header's example (JPEG/PNG, MP4 or PDF); multipart only"
    )
    header_media_id = id_field(required=False, help_text="Or an uploaded media (POST media/) as that example")


class TemplateSendTestSerializer(StrictSerializer):
    to = serializers.CharField(max_length=32, help_text="The phone to send to, international form (+15551234567)")
    parameters = serializers.DictField(
        required=False, default=dict, help_text="Values by placeholder key (see the template's placeholders)"
    )
    number_id = id_field(required=False, help_text="The number to send from (default: the template's account's first)")


class TemplateSendSerializer(StrictSerializer):
    """Into a conversation (`conversation_id`), or to a phone (`to`, from `number_id`): a new conversation."""

    conversation_id = id_field(required=False, help_text="The conversation to send into")
    to = serializers.CharField(
        max_length=32, required=False, help_text="Or a phone to send to, international form (+15551234567)"
    )
    number_id = id_field(required=False, help_text="With `to`: the number to send from (default: the account's first)")
    parameters = serializers.DictField(
        required=False, default=dict, help_text="Values by placeholder key (see the template's placeholders)"
    )

    def validate(self, attrs):
        if ("conversation_id" in attrs) == ("to" in attrs):
            message = gettext_lazy("Give either conversation_id or to.")
            raise serializers.ValidationError({"conversation_id": [message], "to": [message]})
        if "number_id" in attrs and "to" not in attrs:
            raise serializers.ValidationError({"number_id": [gettext_lazy("number_id goes with to.")]})
        return attrs


class TemplateSyncRequestSerializer(StrictSerializer):
    number_id = id_field(required=False, help_text="Sync this Cloud number's account only (default: every account)")
