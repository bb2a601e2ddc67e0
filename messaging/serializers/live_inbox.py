"""The frames a live-inbox socket takes from its client (messaging.consumers), checked like the API's bodies:
unknown keys and values of another JSON type are refused, errors name the fields."""

from rest_framework import serializers

from whatsapp_hub.serializers import StrictSerializer, id_field

# A client's own id of a frame, echoed in the answer (message.sent, error).
CLIENT_ID_MAX_LENGTH = 100


class ClientFrameSerializer(StrictSerializer):
    type = serializers.CharField()
    client_id = serializers.CharField(max_length=CLIENT_ID_MAX_LENGTH, required=False, trim_whitespace=False)


class ConversationFrameSerializer(ClientFrameSerializer):
    """conversation.join, conversation.leave, conversation.read."""

    conversation_id = id_field()


class MessageSendFrameSerializer(ConversationFrameSerializer):
    """message.send: a text message (the send service checks the text as for POST conversations/{id}/messages)."""

    text = serializers.CharField(trim_whitespace=False, allow_blank=True)
