"""POST sandbox/inbound: a message typed as the customer, in the shape of a send (POST conversations/{id}/messages)."""

from rest_framework import serializers

from messaging.message_parts import LocationSerializer, ReactionSerializer
from messaging.models import Message
from whatsapp_hub.serializers import StrictSerializer, id_field

Type = Message.Type


class SandboxInboundSerializer(StrictSerializer):
    """A message the customer `from` sends to a sandbox number. By type, the content is the field named after it:

    - text (the default): `text` (≤ 4096)
    - location: `location: {latitude, longitude, name?, address?}`
    - reaction: `reaction: {message_id (ours), emoji}` ('' removes it)

    Text and location may quote a message of the customer's conversation with `reply_to` (our id).
    """

    number_id = id_field(
        required=False, help_text="A sandbox number of the organization; default: the primary one, else the only one"
    )
    from_ = serializers.CharField(max_length=32, help_text="The customer's phone number, E.164 (+15551234567)")
    name = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="The customer's WhatsApp profile name"
    )
    type = serializers.ChoiceField(choices=[Type.TEXT, Type.LOCATION, Type.REACTION], default=Type.TEXT)
    text = serializers.CharField(max_length=4096, required=False, trim_whitespace=False)
    location = LocationSerializer(required=False)
    reaction = ReactionSerializer(required=False)
    reply_to = id_field(required=False, help_text="Our id of a message of the customer's conversation to quote")

    def get_fields(self):
        # `from` is a Python keyword: declared as `from_`.
        return {("from" if name == "from_" else name): field for name, field in super().get_fields().items()}

    def validate(self, attrs):
        """What the service takes: the Meta-shaped `part` and the references it resolves (reply_to, reaction_to)."""
        mtype = attrs["type"]
        allowed = {"number_id", "from", "name", "type", mtype} | (set() if mtype == Type.REACTION else {"reply_to"})
        errors = {field: [f"Not used by {mtype} messages."] for field in attrs if field not in allowed}
        if mtype not in attrs:
            errors[mtype] = ["This field is required."]
        elif mtype == Type.TEXT and not attrs["text"].strip():
            errors["text"] = ["The text is empty."]
        if errors:
            raise serializers.ValidationError(errors)
        content = attrs[mtype]
        if mtype == Type.TEXT:
            content = {"body": content}
        elif mtype == Type.REACTION:
            content = {"emoji": content["emoji"]}  # the service adds the target's WhatsApp id
        return {
            "number_id": attrs.get("number_id"),
            "phone": attrs["from"],
            "profile_name": attrs.get("name", ""),
            "part": {"type": mtype, mtype: content},
            "reply_to_id": attrs.get("reply_to"),
            "reaction_to_id": attrs["reaction"]["message_id"] if mtype == Type.REACTION else None,
        }


class SandboxInboundResultSerializer(serializers.Serializer):
    provider_message_id = serializers.CharField(help_text="The wamid of the simulated message")
    number_id = serializers.IntegerField(help_text="The sandbox number it was sent to")
