"""API shapes of canned responses."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from messaging.models import CannedResponse, Media
from messaging.serializers.conversations import MediaSerializer
from messaging.services.canned import ATTACHMENT_TYPES, PLACEHOLDERS, TEXT_MAX_LENGTH, TITLE_MAX_LENGTH
from messaging.services.media import message_type_of
from whatsapp_hub.serializers import StrictSerializer, id_field

PLACEHOLDER_HELP = "Placeholders filled in when it is inserted: " + ", ".join(
    f"{{{{{name}}}}} ({description})" for name, description in PLACEHOLDERS.items()
)


class CannedAttachmentSerializer(MediaSerializer):
    message_type = serializers.ChoiceField(
        choices=[str(mtype) for mtype in ATTACHMENT_TYPES],
        read_only=True,
        help_text="The message it is sent as (with the text as its caption): POST conversations/{id}/messages "
        "{type: message_type, media_id: id, caption}",
    )

    class Meta(MediaSerializer.Meta):
        fields = [*MediaSerializer.Meta.fields, "message_type"]
        read_only_fields = fields

    def to_representation(self, media: Media) -> dict:
        return {**super().to_representation(media), "message_type": message_type_of(media.mime_type)}


class CannedResponseSerializer(serializers.ModelSerializer):
    """A canned response. `rendered_text` is its text with the placeholders filled in for the conversation named by
    the query's `conversation_id` (and the caller as the agent); null without one."""

    text = serializers.CharField(read_only=True, help_text=PLACEHOLDER_HELP)
    attachment = CannedAttachmentSerializer(read_only=True, allow_null=True)
    rendered_text = serializers.SerializerMethodField()

    class Meta:
        model = CannedResponse
        fields = [
            "id",
            "shortcut",
            "title",
            "text",
            "attachment",
            "rendered_text",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_rendered_text(self, canned: CannedResponse) -> str | None:
        render = self.context.get("render")
        return render(canned.text) if render is not None else None


class CannedResponseInputSerializer(StrictSerializer):
    """Create and update body (PUT and PATCH change only the fields sent)."""

    shortcut = serializers.CharField(
        max_length=64,
        help_text="Typed after / in the composer: letters, digits, _ and - (at most 32; stored lower-case, a leading "
        "/ dropped), unique in the organization",
    )
    title = serializers.CharField(max_length=TITLE_MAX_LENGTH, allow_blank=True, required=False)
    text = serializers.CharField(
        max_length=TEXT_MAX_LENGTH,
        allow_blank=True,
        required=False,
        trim_whitespace=False,
        help_text=f"At most {TEXT_MAX_LENGTH} characters (1024 with an attachment: its caption); required without "
        f"an attachment. {PLACEHOLDER_HELP}.",
    )
    attachment_id = id_field(
        required=False,
        allow_null=True,
        help_text="An upload of the organization (POST media/): a photo, a video or a document; null removes it",
    )


class CannedResponseQuerySerializer(serializers.Serializer):
    conversation_id = id_field(
        required=False, help_text="Fill the placeholders in for this conversation (rendered_text): agents and admins"
    )


class CannedResponseListQuerySerializer(CannedResponseQuerySerializer):
    q = serializers.CharField(
        required=False, max_length=200, help_text="Shortcut, title or text contains (a leading / ignored)"
    )
