"""API shapes of conversations, messages and media, and the strict input of sends (Meta-shaped message parts)."""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from messaging.models import (
    WINDOW_CLOSED_DETAIL,
    WINDOW_CLOSED_ERROR_CODE,
    Contact,
    Conversation,
    Media,
    Message,
    Provider,
)
from whatsapp_hub.serializers import MAX_ID, StrictSerializer

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


class _OptionalBoolean(serializers.BooleanField):
    """Absent from a query string or multipart form means not given (DRF's BooleanField reads it as False)."""

    default_empty_html = empty


def _id_field(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


class ConversationUpdateSerializer(StrictSerializer):
    status = serializers.ChoiceField(choices=Conversation.Status.choices, required=False)
    assigned_to = _id_field(required=False, allow_null=True, help_text="A user id (an active admin or agent), or null")
    team = _id_field(required=False, allow_null=True, help_text="A team id of the organization, or null")

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
    team = _id_field(required=False)
    number = _id_field(required=False)
    unread = _OptionalBoolean(required=False, help_text="true: only conversations with unread messages")
    search = serializers.CharField(
        required=False, max_length=200, help_text="Contact name, profile name, phone, wa_id or tag"
    )


class MessageSearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(max_length=200, help_text='Words to find (web-search syntax: "a phrase", -word, or)')


# --- input: Meta-shaped message parts --------------------------------------------------------------------


def _text(max_length: int, **kwargs) -> serializers.CharField:
    return serializers.CharField(max_length=max_length, **kwargs)


class LinkSerializer(StrictSerializer):
    link = serializers.URLField(max_length=2000, help_text="An https URL WhatsApp downloads the file from")


class InteractiveHeaderSerializer(StrictSerializer):
    type = serializers.ChoiceField(choices=["text", "image", "video", "document"])
    text = _text(60, required=False)
    image = LinkSerializer(required=False)
    video = LinkSerializer(required=False)
    document = LinkSerializer(required=False)

    def validate(self, attrs):
        htype = attrs["type"]
        given = set(attrs) - {"type"}
        if given != {htype}:
            raise serializers.ValidationError(f"A {htype} header has exactly one field besides type: {htype}.")
        return attrs


class InteractiveBodySerializer(StrictSerializer):
    text = _text(4096)


class InteractiveFooterSerializer(StrictSerializer):
    text = _text(60)


class ReplySerializer(StrictSerializer):
    id = _text(256)
    title = _text(20)


class ReplyButtonSerializer(StrictSerializer):
    type = serializers.ChoiceField(choices=["reply"])
    reply = ReplySerializer()


class ListRowSerializer(StrictSerializer):
    id = _text(200)
    title = _text(24)
    description = _text(72, required=False)


class ListSectionSerializer(StrictSerializer):
    title = _text(24, required=False)
    rows = serializers.ListField(child=ListRowSerializer(), min_length=1, max_length=10)


class InteractiveActionSerializer(StrictSerializer):
    buttons = serializers.ListField(child=ReplyButtonSerializer(), min_length=1, max_length=3, required=False)
    button = _text(20, required=False, help_text="The label of the button that opens a list")
    sections = serializers.ListField(child=ListSectionSerializer(), min_length=1, max_length=10, required=False)


class InteractiveSerializer(StrictSerializer):
    """Reply buttons (`type: button`, 1-3 buttons) or a list (`type: list`), in Meta's shape and limits."""

    type = serializers.ChoiceField(choices=["button", "list"])
    header = InteractiveHeaderSerializer(required=False)
    body = InteractiveBodySerializer()
    footer = InteractiveFooterSerializer(required=False)
    action = InteractiveActionSerializer()

    def validate(self, attrs):
        action = attrs["action"]
        if attrs["type"] == "button":
            if set(action) != {"buttons"}:
                raise serializers.ValidationError({"action": ["Reply buttons need action.buttons (and nothing else)."]})
            if len(attrs["body"]["text"]) > 1024:
                raise serializers.ValidationError({"body": ["The body of reply buttons is at most 1024 characters."]})
            replies = [button["reply"] for button in action["buttons"]]
            for key in ("id", "title"):
                if len({reply[key] for reply in replies}) != len(replies):
                    raise serializers.ValidationError({"action": [f"Button {key}s must be unique."]})
            return attrs
        if set(action) != {"button", "sections"}:
            raise serializers.ValidationError({"action": ["A list needs action.button and action.sections."]})
        if "header" in attrs and attrs["header"]["type"] != "text":
            raise serializers.ValidationError({"header": ["A list header is text only."]})
        sections = action["sections"]
        rows = [row for section in sections for row in section["rows"]]
        if len(rows) > 10:
            raise serializers.ValidationError({"action": ["A list has at most 10 rows in all its sections."]})
        if len({row["id"] for row in rows}) != len(rows):
            raise serializers.ValidationError({"action": ["Row ids must be unique."]})
        if len(sections) > 1 and not all(section.get("title") for section in sections):
            raise serializers.ValidationError({"action": ["Each section needs a title when there are several."]})
        return attrs


# Template parameters (Meta's send shape): the type, then an object (or string) named after it.
PARAMETER_CHECKS = {
    "text": lambda value: isinstance(value, str) and 0 < len(value) <= 32768,
    "payload": lambda value: isinstance(value, str) and 0 < len(value) <= 1000,
    "coupon_code": lambda value: isinstance(value, str) and 0 < len(value) <= 15,
    "currency": lambda value: (
        isinstance(value, dict)
        and isinstance(value.get("fallback_value"), str)
        and isinstance(value.get("code"), str)
        and isinstance(value.get("amount_1000"), int)
        and not isinstance(value.get("amount_1000"), bool)
    ),
    "date_time": lambda value: isinstance(value, dict) and isinstance(value.get("fallback_value"), str),
    "image": lambda value: isinstance(value, dict) and len(value.keys() & {"id", "link"}) == 1,
    "video": lambda value: isinstance(value, dict) and len(value.keys() & {"id", "link"}) == 1,
    "document": lambda value: isinstance(value, dict) and len(value.keys() & {"id", "link"}) == 1,
    "location": lambda value: isinstance(value, dict) and {"latitude", "longitude"} <= value.keys(),
    "action": lambda value: isinstance(value, dict),
}


class TemplateParameterField(serializers.DictField):
    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        ptype = data.get("type")
        check = PARAMETER_CHECKS.get(ptype)
        if check is None:
            raise serializers.ValidationError(f"Parameter type must be one of {', '.join(PARAMETER_CHECKS)}.")
        if not check(data.get(ptype)):
            raise serializers.ValidationError(f"A {ptype} parameter needs a valid {ptype!r} value (Meta's shape).")
        unknown = set(data) - {"type", ptype, "parameter_name"}
        if unknown:
            raise serializers.ValidationError(f"Unknown keys in a {ptype} parameter: {', '.join(sorted(unknown))}.")
        if "parameter_name" in data and not (
            isinstance(data["parameter_name"], str) and data["parameter_name"].replace("_", "").isalnum()
        ):
            raise serializers.ValidationError("parameter_name is the template's variable name (letters, digits, _).")
        return data


class TemplateComponentSerializer(StrictSerializer):
    type = serializers.ChoiceField(choices=["header", "body", "button"])
    sub_type = serializers.ChoiceField(
        choices=["quick_reply", "url", "copy_code", "flow", "catalog", "mpm", "voice_call"], required=False
    )
    index = serializers.IntegerField(min_value=0, max_value=9, required=False, help_text="Button position (0-based)")
    parameters = serializers.ListField(child=TemplateParameterField(), max_length=100, required=False)

    def validate(self, attrs):
        if attrs["type"] == "button":
            if "sub_type" not in attrs or "index" not in attrs:
                raise serializers.ValidationError("A button component needs sub_type and index.")
            attrs["index"] = str(attrs["index"])  # Meta wants the index as a string
        elif "sub_type" in attrs or "index" in attrs:
            raise serializers.ValidationError("sub_type and index belong to button components only.")
        return attrs


class TemplateSerializer(StrictSerializer):
    """`{name, language, components}`; `language` is the code (`en_US`), components are Meta's send shape."""

    name = serializers.RegexField(r"^[a-z0-9_]{1,512}$", help_text="Lower-case letters, digits and _")
    language = serializers.RegexField(r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,4})?$", help_text="e.g. en_US, ar, pt_BR")
    components = serializers.ListField(child=TemplateComponentSerializer(), max_length=20, required=False)

    def to_internal_value(self, data):
        attrs = super().to_internal_value(data)
        template = {"name": attrs["name"], "language": {"code": attrs["language"].replace("-", "_")}}
        if attrs.get("components"):
            template["components"] = attrs["components"]
        return template


class ReactionSerializer(StrictSerializer):
    message_id = _id_field(help_text="Our id of the message reacted to")
    emoji = serializers.CharField(max_length=16, allow_blank=True, trim_whitespace=False, help_text="'' removes it")


class LocationSerializer(StrictSerializer):
    latitude = serializers.FloatField(min_value=-90, max_value=90)
    longitude = serializers.FloatField(min_value=-180, max_value=180)
    name = _text(1000, required=False)
    address = _text(1000, required=False)


class CardNameSerializer(StrictSerializer):
    formatted_name = _text(200)
    first_name = _text(100, required=False)
    last_name = _text(100, required=False)
    middle_name = _text(100, required=False)
    suffix = _text(50, required=False)
    prefix = _text(50, required=False)


class CardPhoneSerializer(StrictSerializer):
    phone = _text(40)
    type = _text(20, required=False)
    wa_id = serializers.RegexField(r"^\d{5,20}$", required=False)


class CardEmailSerializer(StrictSerializer):
    email = serializers.EmailField()
    type = _text(20, required=False)


class CardUrlSerializer(StrictSerializer):
    url = serializers.URLField(max_length=2000)
    type = _text(20, required=False)


class CardOrgSerializer(StrictSerializer):
    company = _text(200, required=False)
    department = _text(200, required=False)
    title = _text(200, required=False)


class CardAddressSerializer(StrictSerializer):
    street = _text(300, required=False)
    city = _text(100, required=False)
    state = _text(100, required=False)
    zip = _text(20, required=False)
    country = _text(100, required=False)
    country_code = _text(2, required=False)
    type = _text(20, required=False)


class ContactCardSerializer(StrictSerializer):
    """One contact card in Meta's shape (name.formatted_name is required)."""

    name = CardNameSerializer()
    phones = serializers.ListField(child=CardPhoneSerializer(), max_length=20, required=False)
    emails = serializers.ListField(child=CardEmailSerializer(), max_length=20, required=False)
    urls = serializers.ListField(child=CardUrlSerializer(), max_length=20, required=False)
    org = CardOrgSerializer(required=False)
    addresses = serializers.ListField(child=CardAddressSerializer(), max_length=10, required=False)
    birthday = serializers.RegexField(r"^\d{4}-\d{2}-\d{2}$", required=False, help_text="YYYY-MM-DD")


MEDIA_FIELDS = {"file", "media_id"}
# The fields each message type takes (besides type and reply_to); the first set are required.
FIELDS_BY_TYPE: dict[str, tuple[set[str], set[str]]] = {
    Message.Type.TEXT: ({"text"}, {"preview_url"}),
    Message.Type.IMAGE: (set(), MEDIA_FIELDS | {"caption"}),
    Message.Type.VIDEO: (set(), MEDIA_FIELDS | {"caption"}),
    Message.Type.DOCUMENT: (set(), MEDIA_FIELDS | {"caption", "filename"}),
    Message.Type.AUDIO: (set(), MEDIA_FIELDS),
    Message.Type.STICKER: (set(), MEDIA_FIELDS),
    Message.Type.TEMPLATE: ({"template"}, set()),
    Message.Type.INTERACTIVE: ({"interactive"}, set()),
    Message.Type.REACTION: ({"reaction"}, set()),
    Message.Type.LOCATION: ({"location"}, set()),
    Message.Type.CONTACTS: ({"contacts"}, set()),
}


class MessageSendSerializer(StrictSerializer):
    """What to send. JSON, or multipart for a file. By type:

    - text: `text` (≤ 4096), optional `preview_url`
    - image, video, document, audio, sticker: `file` (multipart) or `media_id` (from POST media/); `caption`
      (image, video, document), `filename` (document)
    - template: `template: {name, language, components}`
    - interactive: `interactive: {type: button|list, header?, body, footer?, action}` (Meta's shape)
    - reaction: `reaction: {message_id (ours), emoji}`
    - location: `location: {latitude, longitude, name?, address?}`
    - contacts: `contacts: [{name: {formatted_name, ...}, phones: [...], ...}]`

    Any type but reaction may quote a message with `reply_to` (our id). The result is the Meta-shaped `part`
    plus the references the service resolves (upload, media_id, reply_to, reaction_to).
    """

    type = serializers.ChoiceField(choices=sorted(FIELDS_BY_TYPE))
    text = _text(4096, required=False, trim_whitespace=False)
    preview_url = _OptionalBoolean(required=False)
    file = serializers.FileField(required=False)
    media_id = _id_field(required=False)
    caption = _text(1024, required=False)
    filename = _text(240, required=False)
    template = TemplateSerializer(required=False)
    interactive = InteractiveSerializer(required=False)
    reaction = ReactionSerializer(required=False)
    location = LocationSerializer(required=False)
    contacts = serializers.ListField(child=ContactCardSerializer(), min_length=1, max_length=20, required=False)
    reply_to = _id_field(required=False, help_text="Our id of a message of this conversation to quote")

    def validate(self, attrs):
        mtype = attrs["type"]
        required, optional = FIELDS_BY_TYPE[mtype]
        allowed = required | optional | ({"type"} if mtype == Message.Type.REACTION else {"type", "reply_to"})
        errors = {field: [f"Not used by {mtype} messages."] for field in attrs if field not in allowed}
        errors.update({field: ["This field is required."] for field in required if field not in attrs})
        if mtype in Message.MEDIA_TYPES and len(MEDIA_FIELDS & attrs.keys()) != 1:
            errors["file"] = ["Send the file (multipart) or the media_id of an uploaded file, one of them."]
        if mtype == Message.Type.TEXT and "text" in attrs and not attrs["text"].strip():
            errors["text"] = ["The text is empty."]
        if errors:
            raise serializers.ValidationError(errors)
        return {
            "part": self._part(mtype, attrs),
            "upload": attrs.get("file"),
            "media_id": attrs.get("media_id"),
            "reply_to_id": attrs.get("reply_to"),
            "reaction_to_id": attrs["reaction"]["message_id"] if mtype == Message.Type.REACTION else None,
        }

    @staticmethod
    def _part(mtype: str, attrs: dict) -> dict:
        if mtype == Message.Type.TEXT:
            body = {"body": attrs["text"]}
            if "preview_url" in attrs:
                body["preview_url"] = attrs["preview_url"]
            return {"type": mtype, "text": body}
        if mtype in Message.MEDIA_TYPES:
            obj = {key: attrs[key] for key in ("caption", "filename") if key in attrs}
            return {"type": mtype, mtype: obj}
        if mtype == Message.Type.REACTION:
            # message_id becomes the target's WhatsApp id in the service.
            return {"type": mtype, "reaction": {"message_id": None, "emoji": attrs["reaction"]["emoji"]}}
        return {"type": mtype, mtype: attrs[mtype]}


class ConversationStartSerializer(StrictSerializer):
    contact_id = _id_field(required=False, help_text="An existing contact of the organization")
    phone = serializers.CharField(max_length=32, required=False, help_text="Or a phone number (contact created)")
    number_id = _id_field(help_text="The organization's WhatsApp number to send from")
    template = TemplateSerializer()

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
