"""Live-inbox events of single conversations and messages, in the API's shapes, published after commit.

Same envelopes as ingest's batch pushes: `{"messages": [...]}` and `{"conversations": [...]}`.
"""

from django.db import transaction

from messaging import realtime
from messaging.models import Conversation, Message
from messaging.serializers.conversations import conversation_event, message_event


def publish_conversation_on_commit(*, conversation_id: int, organization_id: int) -> None:
    """conversation.updated with the conversation as the API shows it, read after commit."""

    def publish() -> None:
        conversation = (
            Conversation.objects.filter(pk=conversation_id, organization_id=organization_id)
            .select_related("contact", "number")
            .first()
        )
        if conversation is not None:
            realtime.publish(
                organization_id, "conversation.updated", {"conversations": [conversation_event(conversation)]}
            )

    transaction.on_commit(publish)


def publish_message_on_commit(*, message_id: int, organization_id: int, event: str) -> None:
    """message.created / message.updated with the message as the API shows it, read after commit."""

    def publish() -> None:
        message = Message.objects.filter(pk=message_id, organization_id=organization_id).select_related("media").first()
        if message is not None:
            realtime.publish(organization_id, event, {"messages": [message_event(message)]})

    transaction.on_commit(publish)
