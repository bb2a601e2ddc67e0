"""API shapes of conversations, messages and media. What a send takes is checked by the send service itself, in
messaging.message_parts (MessageSendSerializer is the request schema of a send)."""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from messaging.message_parts import TemplateSerializer
from messaging.models import (
    WINDOW_CLOSED_DETAIL,
    WINDOW_CLOSED_ERROR_CODE,
    Contact,
    Conversation,
    Media,
    Message,
    Provider,
)
from whatsapp_hub.serializers import OptionalBooleanField, StrictSerializer, id_field

# --- output ------------------------------------------------------------------------------------------


class ContactBriefSerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()

    class Meta:
        model = Contact
        fields = ["id", "name", "phone", "wa_id"]
        read_only_fields = fields

    def get_name(self, contact: Contact) -> str:
        """The name we gave the contact, else the one they gave WhatsApp."""
        return contact.name or contact.profile_name


class LastMessageSerializer(serializers.Serializer):
    text = serializers.CharField(source="last_message_preview")
    direction = serializers.CharField(source="last_message_direction")
    type = serializers.CharField(source="last_message_type")


class ConversationSerializer(serializers.ModelSerializer):
    """One inbox row; everything comes from the conversation, its contact and number (one joined query)."""

    contact = ContactBriefSerializer(read_only=True)
    number_id = serializers.IntegerField(read_only=True)
    assigned_to = serializers.IntegerField(source="assigned_to_id", read_only=True, allow_null=True)
    team = serializers.IntegerField(source="team_id", read_only=True, allow_null=True)
    last_message = serializers.SerializerMethodField()
    window_open = serializers.SerializerMethodField()

    class Meta:
        model = Conversation
        fields = [
            "id",
            "contact",
            "number_id",
            "status",
            "assigned_to",
            "team",
            "unread_count",
            "last_message",
            "last_message_at",
            "window_open",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(LastMessageSerializer(allow_null=True))
    def get_last_message(self, conversation: Conversation) -> dict | None:
        # A plain dict: a nested serializer per row costs more than the rest of the row (inbox pages, pushes).
        if not conversation.last_message_direction:
            return None
        return {
            "text": conversation.last_message_preview,
            "direction": conversation.last_message_direction,
            "type": conversation.last_message_type,
        }

    def get_window_open(self, conversation: Conversation) -> bool:
        """Free-form messages allowed now: inside the 24-hour window, or always on a WhatsApp Web (WAHA) number."""
        return conversation.number.provider == Provider.WAHA or conversation.window_open


class MediaSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="Authenticated download of the file (GET)")

    class Meta:
        model = Media
        fields = ["id", "mime_type", "size", "filename", "status", "url", "created_at"]
        read_only_fields = fields

    def get_url(self, media: Media) -> str | None:
        if media.status != Media.Status.READY:
            return None
        path = reverse("media-content", kwargs={"pk": media.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class ReplyToSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True, help_text="Our id of the quoted message, when we have it")
    provider_message_id = serializers.CharField()


# Types whose content is shown as a field named after the type, straight from the provider payload.
TYPE_FIELDS = frozenset(
    {
        Message.Type.LOCATION,
        Message.Type.CONTACTS,
        Message.Type.INTERACTIVE,
        Message.Type.BUTTON,
        Message.Type.REACTION,
        Message.Type.TEMPLATE,
    }
)


class MessageSerializer(serializers.ModelSerializer):
    """A message. Media types carry `media`; location, contacts, interactive, button, reaction and template
    messages also carry a field named after their type with its content as WhatsApp gives it (e.g.
    `location: {latitude, longitude, name, address}`, `template: {name, language, components}`).

    A message Meta failed with 131047 (outside the 24-hour window) reads like the 409 that refuses such a send.
    Context: `reply_ids` maps provider ids to our ids (one query per page, see selectors).
    """

    conversation_id = serializers.IntegerField(read_only=True)
    error_title = serializers.SerializerMethodField()
    timestamp = serializers.SerializerMethodField()
    reply_to = serializers.SerializerMethodField()
    media = serializers.SerializerMethodField()
    sent_by = serializers.IntegerField(source="sent_by_id", read_only=True, allow_null=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "conversation_id",
            "direction",
            "type",
            "text",
            "status",
            "provider_message_id",
            "error_code",
            "error_title",
            "timestamp",
            "reply_to",
            "media",
            "sent_by",
            "created_at",
        ]
        read_only_fields = fields

    def get_error_title(self, message: Message) -> str:
        if message.error_code == WINDOW_CLOSED_ERROR_CODE:
            return WINDOW_CLOSED_DETAIL
        return message.error_title

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_timestamp(self, message: Message) -> str:
        """When it happened: the provider's time, else when we stored it."""
        return serializers.DateTimeField().to_representation(message.provider_timestamp or message.created_at)

    @extend_schema_field(ReplyToSerializer(allow_null=True))
    def get_reply_to(self, message: Message) -> dict | None:
        if not message.reply_to_provider_id:
            return None
        ids = self.context.get("reply_ids") or {}
        return {"id": ids.get(message.reply_to_provider_id), "provider_message_id": message.reply_to_provider_id}

    @extend_schema_field(MediaSerializer(allow_null=True))
    def get_media(self, message: Message) -> dict | None:
        media = getattr(message, "media", None) if message.type in Message.MEDIA_TYPES else None
        return None if media is None else MediaSerializer(media, context=self.context).data

    def to_representation(self, message: Message) -> dict:
        data = super().to_representation(message)
        if message.type in TYPE_FIELDS and isinstance(message.payload, dict):
            data[message.type] = message.payload.get(message.type)
        return data


class MessageSearchResultSerializer(MessageSerializer):
    contact_id = serializers.IntegerField(source="conversation.contact_id", read_only=True)
    contact_name = serializers.SerializerMethodField()

    class Meta(MessageSerializer.Meta):
        fields = [*MessageSerializer.Meta.fields, "contact_id", "contact_name"]
        read_only_fields = fields

    def get_contact_name(self, message: Message) -> str:
        contact = message.conversation.contact
        return contact.name or contact.profile_name or contact.phone or (contact.wa_id or "")


# --- input: conversations ------------------------------------------------------------------------------


class ConversationUpdateSerializer(StrictSerializer):
    status = serializers.ChoiceField(choices=Conversation.Status.choices, required=False)
    assigned_to = id_field(required=False, allow_null=True, help_text="A user id (an active admin or agent), or null")
    team = id_field(required=False, allow_null=True, help_text="A team id of the organization, or null")

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Give at least one of status, assigned_to, team.")
        return attrs


class ConversationListQuerySerializer(serializers.Serializer):
    """Filters of the inbox list (query parameters; the cursor and page size are the paginator's)."""

    status = serializers.ChoiceField(choices=Conversation.Status.choices, required=False)
    assigned_to = serializers.RegexField(
        r"^(me|none|[1-9]\d{0,17})$", required=False, help_text="me, none, or a user id"
    )
    team = id_field(required=False)
    number = id_field(required=False)
    unread = OptionalBooleanField(required=False, help_text="true: only conversations with unread messages")
    search = serializers.CharField(
        required=False, max_length=200, help_text="Contact name, profile name, phone, wa_id or tag"
    )


class MessageSearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(max_length=200, help_text='Words to find (web-search syntax: "a phrase", -word, or)')


@extend_schema_field(TemplateSerializer)
class _TemplateField(serializers.DictField):
    """A template to send, passed on as given: the send service checks it (messaging.message_parts)."""


class ConversationStartSerializer(StrictSerializer):
    contact_id = id_field(required=False, help_text="An existing contact of the organization")
    phone = serializers.CharField(max_length=32, required=False, help_text="Or a phone number (contact created)")
    number_id = id_field(help_text="The organization's WhatsApp number to send from")
    template = _TemplateField()

    def validate(self, attrs):
        if ("contact_id" in attrs) == ("phone" in attrs):
            raise serializers.ValidationError({"contact_id": ["Give contact_id or phone, one of them."]})
        return attrs


class ConversationStartResultSerializer(serializers.Serializer):
    conversation = ConversationSerializer()
    message = MessageSerializer()


class MediaUploadSerializer(StrictSerializer):
    file = serializers.FileField(
        help_text="image (JPEG/PNG ≤ 5 MB), audio or video (≤ 16 MB), document (≤ 100 MB), sticker (WebP)"
    )
