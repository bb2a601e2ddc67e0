"""What an outbound message may be: the checks every sender goes through, the API, conversation_start, campaigns
and automation alike.

`parse(content)` takes what to send in the shape of the API's send body (MessageSendSerializer below: `type`, then
the type's fields, e.g. `{"type": "text", "text": "Hi"}` or `{"type": "template", "template": {name, language,
components}}`), checks it against WhatsApp's shapes and limits, and returns the Meta-shaped part the hub stores and
sends, with the references the send service resolves (an upload, an uploaded media id, the messages replied or
reacted to). A refusal is a ServiceError (400) whose `errors` name the fields of that body, so an API client, a
campaign and a flow get the same answer. `messaging.services.conversations.message_send` calls it before storing
anything. The rules are declared with DRF serializers (nested shapes, limits and their messages in one vocabulary
with the rest of the API), used here as a validation library: nothing here needs a request.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from django.core.files import File
from rest_framework import serializers

from messaging.models import Message
from whatsapp_hub.errors import invalid_input
from whatsapp_hub.serializers import OptionalBooleanField, StrictSerializer, id_field


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


FLOW_TYPE = "flow"  # a send type of its own: sent as an `interactive` message of type flow


class FlowSendSerializer(StrictSerializer):
    """A WhatsApp Flow to open: our flow's id, the message around its button, and where it starts. The send service
    fills in Meta's flow id, a flow_token that maps the reply back to the flow, and the first screen."""

    flow_id = id_field(help_text="Our id of a WhatsApp Flow (whatsapp-flows/)")
    body = _text(1024)
    cta = _text(20, help_text="The label of the button that opens the flow (Meta: at most 20 characters, no emoji)")
    header = _text(60, required=False)
    footer = _text(60, required=False)
    flow_action = serializers.ChoiceField(choices=["navigate", "data_exchange"], default="navigate")
    screen = serializers.RegexField(
        r"^[A-Za-z0-9_]{1,100}$", required=False, help_text="navigate: the screen to open (default: the first)"
    )
    data = serializers.DictField(required=False, help_text="navigate: the first screen's data (a non-empty object)")
    mode = serializers.ChoiceField(
        choices=["published", "draft"], default="published", help_text="draft: test a draft flow"
    )

    def validate(self, attrs):
        if attrs["flow_action"] == "data_exchange" and ({"screen", "data"} & attrs.keys()):
            raise serializers.ValidationError({"flow_action": ["screen and data go with navigate only."]})
        if "data" in attrs and not attrs["data"]:
            raise serializers.ValidationError({"data": ["Leave data out, or give a non-empty object."]})
        return attrs


def flow_part(flow: Mapping) -> dict:
    """The Meta-shaped part of a flow send (checked by FlowSendSerializer); flow_id, flow_token and the default
    screen are the send service's (messaging.services.flows.flow_part_fill)."""
    parameters: dict = {"flow_message_version": "3", "flow_cta": flow["cta"], "flow_action": flow["flow_action"]}
    if flow["mode"] == "draft":
        parameters["mode"] = "draft"
    if flow["flow_action"] == "navigate":
        payload = {"screen": flow.get("screen", "")}
        if flow.get("data"):
            payload["data"] = flow["data"]
        parameters["flow_action_payload"] = payload
    interactive: dict = {"type": "flow"}
    if flow.get("header"):
        interactive["header"] = {"type": "text", "text": flow["header"]}
    interactive["body"] = {"text": flow["body"]}
    if flow.get("footer"):
        interactive["footer"] = {"text": flow["footer"]}
    interactive["action"] = {"name": "flow", "parameters": parameters}
    return {"type": Message.Type.INTERACTIVE.value, "interactive": interactive}


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
        return template_part(super().to_internal_value(data))["template"]


def template_part(template: Mapping) -> dict:
    """The Meta-shaped part of a template send from its content in the API's shape (`{name, language,
    components}`, as TemplateSerializer checks it and templates.rendering builds it): the language as `{"code"}`,
    button indexes as strings. It checks nothing: a sender of many messages of one shape (a campaign) checks one with
    `parse` and builds the others with this."""
    part = {"name": template["name"], "language": {"code": str(template["language"]).replace("-", "_")}}
    components = [
        {**component, "index": str(component["index"])} if "index" in component else component
        for component in template.get("components") or ()
    ]
    if components:
        part["components"] = components
    return {"type": Message.Type.TEMPLATE.value, "template": part}


class ReactionSerializer(StrictSerializer):
    message_id = id_field(help_text="Our id of the message reacted to")
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
    FLOW_TYPE: ({"flow"}, set()),
}
# The types a send takes (the OpenAPI schema's MessageSendTypeEnum).
SEND_TYPES = sorted(FIELDS_BY_TYPE)


class MessageSendSerializer(StrictSerializer):
    """What to send. JSON, or multipart for a file. By type:

    - text: `text` (≤ 4096), optional `preview_url`
    - image, video, document, audio, sticker: `file` (multipart) or `media_id` (from POST media/); `caption`
      (image, video, document), `filename` (document)
    - template: `template: {name, language, components}`
    - interactive: `interactive: {type: button|list, header?, body, footer?, action}` (Meta's shape)
    - flow: `flow: {flow_id (ours), body, cta, header?, footer?, flow_action?, screen?, data?, mode?}`: a WhatsApp
      Flow, sent as an interactive message of type flow
    - reaction: `reaction: {message_id (ours), emoji}`
    - location: `location: {latitude, longitude, name?, address?}`
    - contacts: `contacts: [{name: {formatted_name, ...}, phones: [...], ...}]`

    Any type but reaction may quote a message with `reply_to` (our id). The result is the Meta-shaped `part`
    plus the references the service resolves (upload, media_id, reply_to, reaction_to).
    """

    type = serializers.ChoiceField(choices=SEND_TYPES)
    text = _text(4096, required=False, trim_whitespace=False)
    preview_url = OptionalBooleanField(required=False)
    file = serializers.FileField(required=False)
    media_id = id_field(required=False)
    caption = _text(1024, required=False)
    filename = _text(240, required=False)
    template = TemplateSerializer(required=False)
    interactive = InteractiveSerializer(required=False)
    flow = FlowSendSerializer(required=False)
    reaction = ReactionSerializer(required=False)
    location = LocationSerializer(required=False)
    contacts = serializers.ListField(child=ContactCardSerializer(), min_length=1, max_length=20, required=False)
    reply_to = id_field(required=False, help_text="Our id of a message of this conversation to quote")

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
            "flow_id": attrs["flow"]["flow_id"] if mtype == FLOW_TYPE else None,
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
        if mtype == FLOW_TYPE:
            return flow_part(attrs["flow"])
        if mtype == Message.Type.REACTION:
            # message_id becomes the target's WhatsApp id in the service.
            return {"type": mtype, "reaction": {"message_id": None, "emoji": attrs["reaction"]["emoji"]}}
        return {"type": mtype, mtype: attrs[mtype]}


@dataclass(frozen=True)
class OutboundPart:
    """A checked send: the Meta-shaped `part` and the references the send service resolves."""

    part: dict
    upload: File | None
    media_id: int | None
    reply_to_id: int | None
    reaction_to_id: int | None
    flow_id: int | None = None


def parse(content: Mapping) -> OutboundPart:
    """Check `content` (the send body: MessageSendSerializer's fields) and return what to send; ServiceError (400,
    errors by field) when WhatsApp would refuse it or it is not a message at all."""
    serializer = MessageSendSerializer(data=content)
    if not serializer.is_valid():
        raise invalid_input(serializer.errors)
    return OutboundPart(**serializer.validated_data)
