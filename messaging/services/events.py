"""Live-inbox events, published after commit: every event carries a list of items in the API's shapes.

`message.created` / `message.updated` carry `{"messages": [...]}` (each as GET conversations/{id}/messages
shows it) and `conversation.updated` carries `{"conversations": [...]}` (each as GET conversations/ shows
it), whoever writes them: the API's services, delivery or the webhook ingest of a whole batch. The items are
read after commit (two queries per push), so a client sees what a REST reload would show.
"""

from collections.abc import Collection

from django.db import transaction

from accounts.models import Organization
from messaging import realtime
from messaging.models import Message
from messaging.selectors.conversations import conversation_list, message_reply_ids
from messaging.serializers.conversations import ConversationSerializer, MessageSerializer

# At most this many items per push (a batch of webhooks may touch hundreds of messages).
PUSH_CHUNK = 100


def _chunks(ids: Collection[int]) -> list[list[int]]:
    ordered = sorted(set(ids))
    return [ordered[start : start + PUSH_CHUNK] for start in range(0, len(ordered), PUSH_CHUNK)]


def _org(organization_id: int) -> Organization:
    """The organization to scope the reads with (only its pk is used: no query)."""
    return Organization(pk=organization_id)


def _publish_conversations(organization_id: int, conversation_ids: Collection[int]) -> None:
    org = _org(organization_id)
    for chunk in _chunks(conversation_ids):
        conversations = conversation_list(org=org).filter(pk__in=chunk).order_by("id")
        items = ConversationSerializer(conversations, many=True).data
        if items:
            realtime.publish(organization_id, "conversation.updated", {"conversations": items})


def _publish_messages(organization_id: int, message_ids: Collection[int], event: str) -> None:
    org = _org(organization_id)
    for chunk in _chunks(message_ids):
        messages = list(Message.objects.for_org(org).filter(pk__in=chunk).select_related("media").order_by("id"))
        reply_ids = message_reply_ids(org=org, messages=messages)
        items = MessageSerializer(messages, many=True, context={"reply_ids": reply_ids}).data
        if items:
            realtime.publish(organization_id, event, {"messages": items})


def publish_conversations_on_commit(*, organization_id: int, conversation_ids: Collection[int]) -> None:
    """conversation.updated for these conversations, read after commit."""
    if conversation_ids:
        ids = list(conversation_ids)
        transaction.on_commit(lambda: _publish_conversations(organization_id, ids))


def publish_messages_on_commit(*, organization_id: int, message_ids: Collection[int], event: str) -> None:
    """message.created / message.updated for these messages, read after commit."""
    if message_ids:
        ids = list(message_ids)
        transaction.on_commit(lambda: _publish_messages(organization_id, ids, event))


def publish_conversation_on_commit(*, conversation_id: int, organization_id: int) -> None:
    publish_conversations_on_commit(organization_id=organization_id, conversation_ids=[conversation_id])


def publish_message_on_commit(*, message_id: int, organization_id: int, event: str) -> None:
    publish_messages_on_commit(organization_id=organization_id, message_ids=[message_id], event=event)
