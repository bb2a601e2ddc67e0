"""API shapes of conversations, messages and media. What a send takes is checked by the send service itself, in
messaging.message_parts (MessageSendSerializer is the request schema of a send)."""

from datetime import datetime, tzinfo

from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from messaging.message_parts import MessageSendSerializer, TemplateSerializer
from messaging.models import (
    CUSTOMER_SERVICE_WINDOW,
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
#
# Each shape is built by one plain function (`*_data`): its serializer's to_representation calls it, and so do
# the live-inbox pushes, so a push shows an item exactly as the API does. The serializers' fields describe the
# shapes for the OpenAPI schema (a test checks that they name the same keys). Walking DRF's fields cost about
# 0.1 ms per message, the largest part of the ingest's work for a batch of webhooks after the writes.

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


def datetime_data(value: datetime | None, tz: tzinfo) -> str | None:
    """A datetime as DRF's DateTimeField shows it: ISO 8601 in the current time zone `tz`, UTC as Z. The time
    zone is looked up by the caller, once for many values: a lookup costs more than the formatting."""
    if value is None:
        return None
    text = value.astimezone(tz).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def contact_brief_data(contact: Contact) -> dict:
    return {
        "id": contact.id,
        "name": contact.name or contact.profile_name,
        "phone": contact.phone,
        "wa_id": contact.wa_id,
    }


def conversation_data(conversation: Conversation, *, tz: tzinfo | None = None) -> dict:
    """An inbox row, from the conversation with its contact and number loaded. `tz`: the current time zone, when
    the caller has it (a list)."""
    tz = tz or timezone.get_current_timezone()
    return {
        "id": conversation.id,
        "contact": contact_brief_data(conversation.contact),
        "number_id": conversation.number_id,
        "status": str(conversation.status),
        "assigned_to": conversation.assigned_to_id,
        "team": conversation.team_id,
        "unread_count": conversation.unread_count,
        "last_message": {
            "text": conversation.last_message_preview,
            "direction": conversation.last_message_direction,
            "type": conversation.last_message_type,
        }
        if conversation.last_message_direction
        else None,
        "last_message_at": datetime_data(conversation.last_message_at, tz),
        "window_open": conversation.number.provider == Provider.WAHA or conversation.window_open,
        "window_expires_at": window_expires_at(conversation, tz),
        "created_at": datetime_data(conversation.created_at, tz),
    }


def window_expires_at(conversation: Conversation, tz: tzinfo) -> str | None:
    """When the conversation's 24-hour window closes (closed already when in the past); None when it never opened,
    or on a WhatsApp Web (WAHA) number, which has no window."""
    if conversation.last_inbound_at is None or conversation.number.provider == Provider.WAHA:
        return None
    return datetime_data(conversation.last_inbound_at + CUSTOMER_SERVICE_WINDOW, tz)


def media_data(media: Media, *, request=None, tz: tzinfo | None = None) -> dict:
    url = None
    if media.status == Media.Status.READY:
        url = reverse("media-content", kwargs={"pk": media.pk})
        if request is not None:
            url = request.build_absolute_uri(url)
    return {
        "id": media.id,
        "mime_type": media.mime_type,
        "size": media.size,
        "filename": media.filename,
        "status": str(media.status),
        "url": url,
        "created_at": datetime_data(media.created_at, tz or timezone.get_current_timezone()),
    }


def message_data(message: Message, *, reply_ids: dict[str, int], request=None, tz: tzinfo | None = None) -> dict:
    """A message; `reply_ids` maps the provider ids of the messages it may quote to our ids. `tz`: the current
    time zone, when the caller has it (a list)."""
    media = getattr(message, "media", None) if message.type in Message.MEDIA_TYPES else None
    quoted = message.reply_to_provider_id
    tz = tz or timezone.get_current_timezone()
    data = {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "direction": str(message.direction),
        "type": str(message.type),
        "text": message.text,
        "status": str(message.status),
        "provider_message_id": message.provider_message_id,
        "error_code": message.error_code,
        "error_title": WINDOW_CLOSED_DETAIL if message.error_code == WINDOW_CLOSED_ERROR_CODE else message.error_title,
        "timestamp": datetime_data(message.provider_timestamp or message.created_at, tz),
        "reply_to": {"id": reply_ids.get(quoted), "provider_message_id": quoted} if quoted else None,
        "media": None if media is None else media_data(media, request=request, tz=tz),
        "sent_by": message.sent_by_id,
        "sender_label": message.sender_label,
        "created_at": datetime_data(message.created_at, tz),
    }
    if message.type in TYPE_FIELDS and isinstance(message.payload, dict):
        data[data["type"]] = message.payload.get(message.type)
    return data


class ContactBriefSerializer(serializers.ModelSerializer):
    name = serializers.CharField(
        read_only=True, help_text="The name we gave the contact, else the one they gave WhatsApp."
    )

    class Meta:
        model = Contact
        fields = ["id", "name", "phone", "wa_id"]
        read_only_fields = fields

    def to_representation(self, contact: Contact) -> dict:
        return contact_brief_data(contact)


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
    last_message = LastMessageSerializer(read_only=True, allow_null=True)
    window_open = serializers.BooleanField(
        read_only=True,
        help_text="Free-form messages allowed now: inside the 24-hour window, or always on a WhatsApp Web (WAHA) "
        "number.",
    )
    window_expires_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="When the 24-hour window closes (in the past: closed); null when the customer never wrote, or on "
        "a WhatsApp Web (WAHA) number (no window).",
    )

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
            "window_expires_at",
            "created_at",
        ]
        read_only_fields = fields

    def to_representation(self, conversation: Conversation) -> dict:
        return conversation_data(conversation)


class MediaSerializer(serializers.ModelSerializer):
    url = serializers.CharField(read_only=True, allow_null=True, help_text="Authenticated download of the file (GET)")

    class Meta:
        model = Media
        fields = ["id", "mime_type", "size", "filename", "status", "url", "created_at"]
        read_only_fields = fields

    def to_representation(self, media: Media) -> dict:
        return media_data(media, request=self.context.get("request"))


MEDIA_TYPE_CHOICES = [(kind.value, kind.label) for kind in Message.Type if kind in Message.MEDIA_TYPES]


class MediaItemSerializer(MediaSerializer):
    """A file of the media library: the media with what it is and where it came from. An upload not sent yet has
    no message, conversation, number or contact, and is outbound."""

    type = serializers.ChoiceField(
        choices=MEDIA_TYPE_CHOICES,
        read_only=True,
        help_text="The type of the message that carried it (else, for an upload, its MIME type's)",
    )
    direction = serializers.ChoiceField(choices=Message.Direction.choices, read_only=True)
    message_id = serializers.IntegerField(read_only=True, allow_null=True)
    conversation_id = serializers.IntegerField(read_only=True, allow_null=True)
    number_id = serializers.IntegerField(read_only=True, allow_null=True)
    contact = ContactBriefSerializer(read_only=True, allow_null=True)

    class Meta(MediaSerializer.Meta):
        fields = [
            *MediaSerializer.Meta.fields,
            "type",
            "direction",
            "message_id",
            "conversation_id",
            "number_id",
            "contact",
        ]
        read_only_fields = fields

    def to_representation(self, media: Media) -> dict:
        """`media` comes from selectors.media_library (annotated `kind` and `direction`, conversation joined)."""
        conversation = media.message.conversation if media.message_id else None
        return {
            **super().to_representation(media),
            "type": media.kind,
            "direction": media.direction,
            "message_id": media.message_id,
            "conversation_id": conversation.pk if conversation else None,
            "number_id": conversation.number_id if conversation else None,
            "contact": contact_brief_data(conversation.contact) if conversation else None,
        }


class MediaListQuerySerializer(serializers.Serializer):
    """Filters of the media library (query parameters; the page and its size are the paginator's)."""

    type = serializers.ChoiceField(choices=MEDIA_TYPE_CHOICES, required=False)
    direction = serializers.ChoiceField(choices=Message.Direction.choices, required=False)
    number = id_field(required=False, help_text="A WhatsApp number id")
    conversation = id_field(required=False, help_text="A conversation id")
    start_date = serializers.DateField(required=False, help_text="Files stored on or after this day (YYYY-MM-DD)")
    end_date = serializers.DateField(required=False, help_text="Files stored on or before this day (YYYY-MM-DD)")

    def validate(self, attrs):
        start, end = attrs.get("start_date"), attrs.get("end_date")
        if start is not None and end is not None and start > end:
            raise serializers.ValidationError({"end_date": ["Must not be before start_date."]})
        return attrs


class MediaShareLinkSerializer(serializers.Serializer):
    url = serializers.URLField(help_text="Opens the file for anyone who has it, until expires_at; no sign-in needed")
    expires_at = serializers.DateTimeField()


class MediaStorageSerializer(serializers.Serializer):
    files = serializers.IntegerField(help_text="Files stored for the organization (every number's)")
    bytes = serializers.IntegerField(help_text="Their total size in bytes")


class ReplyToSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True, help_text="Our id of the quoted message, when we have it")
    provider_message_id = serializers.CharField()


class MessageSerializer(serializers.ModelSerializer):
    """A message. Media types carry `media`; location, contacts, interactive, button, reaction and template
    messages also carry a field named after their type with its content as WhatsApp gives it (e.g.
    `location: {latitude, longitude, name, address}`, `template: {name, language, components}`).

    A message Meta failed with 131047 (outside the 24-hour window) reads like the 409 that refuses such a send.
    Context: `reply_ids` maps provider ids to our ids (one query per page, see selectors).
    """

    conversation_id = serializers.IntegerField(read_only=True)
    error_title = serializers.CharField(read_only=True)
    timestamp = serializers.DateTimeField(
        read_only=True, help_text="When it happened: the provider's time, else when we stored it."
    )
    reply_to = ReplyToSerializer(read_only=True, allow_null=True)
    media = MediaSerializer(read_only=True, allow_null=True)
    sent_by = serializers.IntegerField(source="sent_by_id", read_only=True, allow_null=True)
    sender_label = serializers.CharField(
        read_only=True,
        help_text="Who sent an outbound message no person sent (sent_by null), e.g. a bot's name; blank otherwise.",
    )

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
            "sender_label",
            "created_at",
        ]
        read_only_fields = fields

    def to_representation(self, message: Message) -> dict:
        return message_data(message, reply_ids=self.context.get("reply_ids") or {}, request=self.context.get("request"))


class MessageWithContactSerializer(MessageSerializer):
    """A message and who it is with (from the message with its conversation's contact loaded)."""

    contact_id = serializers.IntegerField(source="conversation.contact_id", read_only=True)
    contact_name = serializers.CharField(read_only=True)

    class Meta(MessageSerializer.Meta):
        fields = [*MessageSerializer.Meta.fields, "contact_id", "contact_name"]
        read_only_fields = fields

    def to_representation(self, message: Message) -> dict:
        contact = message.conversation.contact
        return {
            **super().to_representation(message),
            "contact_id": contact.id,
            "contact_name": contact.name or contact.profile_name or contact.phone or (contact.wa_id or ""),
        }


class MessageSearchResultSerializer(MessageWithContactSerializer):
    class Meta(MessageWithContactSerializer.Meta):
        pass


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


class MessageListQuerySerializer(serializers.Serializer):
    """Filters of the messages across conversations (query parameters; the cursor and page size are the
    paginator's)."""

    contact_id = id_field(required=False)
    conversation_id = id_field(required=False)
    direction = serializers.ChoiceField(choices=Message.Direction.choices, required=False)
    number_id = id_field(required=False)
    created_after = serializers.DateTimeField(
        required=False, help_text="ISO 8601: messages created at or after this time"
    )
    created_before = serializers.DateTimeField(required=False, help_text="ISO 8601: messages created before this time")

    def validate(self, attrs):
        after, before = attrs.get("created_after"), attrs.get("created_before")
        if after is not None and before is not None and after >= before:
            raise serializers.ValidationError({"created_before": ["Must be later than created_after."]})
        return attrs


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


class MessageAddressSerializer(StrictSerializer):
    """Where a message to a phone goes: the part of the body besides the message itself."""

    to = serializers.CharField(
        max_length=32, help_text="The customer's phone number (E.164, or digits with their country code)"
    )
    number_id = id_field(help_text="The organization's WhatsApp number to send from")


class MessageToPhoneSerializer(MessageAddressSerializer, MessageSendSerializer):
    """The request schema of a message to a phone: `to`, `number_id` and a message as conversations/{id}/messages
    takes it (the send service checks the message: messaging.message_parts)."""


class ConversationStartResultSerializer(serializers.Serializer):
    conversation = ConversationSerializer()
    message = MessageSerializer()


class MediaUploadSerializer(StrictSerializer):
    file = serializers.FileField(
        help_text="image (JPEG/PNG ≤ 5 MB), audio or video (≤ 16 MB), document (≤ 100 MB), sticker (WebP)"
    )
