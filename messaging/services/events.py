"""Live-inbox events, published after commit: every event carries a list of items in the API's shapes.

`message.created` / `message.updated` carry `{"messages": [...]}` (each as GET conversations/{id}/messages
shows it) and `conversation.updated` carries `{"conversations": [...]}` (each as GET conversations/ shows
it), whoever writes them: the API's services, delivery or the webhook ingest of a whole batch. The items are read
after commit, so a client sees what a REST reload would show; the ingest's new messages and conversations are
sent as written, without the read (its hot path).
"""

from collections.abc import Collection

from django.utils import timezone

from accounts.models import Organization
from messaging import realtime
from messaging.models import Conversation, Message
from messaging.selectors.conversations import conversation_list, message_reply_ids
from messaging.serializers.conversations import conversation_data, message_data
from whatsapp_hub.aftercommit import run_after_commit

# At most this many items per push (a batch of webhooks may touch hundreds of messages).
PUSH_CHUNK = 100


def _org(organization_id: int) -> Organization:
    """The organization to scope the reads with (only its pk is used: no query)."""
    return Organization(pk=organization_id)


def _conversation_events(conversations: list[Conversation]) -> list[tuple[str, dict]]:
    """conversation.updated; each conversation with its contact and number loaded."""
    tz = timezone.get_current_timezone()
    return [
        ("conversation.updated", {"conversations": [conversation_data(conversation, tz=tz) for conversation in chunk]})
        for chunk in _chunks(conversations)
    ]


def _message_events(organization_id: int, messages: list[Message], event: str) -> list[tuple[str, dict]]:
    """message.created / message.updated; each message with its media loaded (when of a media type)."""
    org = _org(organization_id)
    tz = timezone.get_current_timezone()
    events = []
    for chunk in _chunks(messages):
        reply_ids = message_reply_ids(org=org, messages=chunk)
        events.append((event, {"messages": [message_data(m, reply_ids=reply_ids, tz=tz) for m in chunk]}))
    return events


def _chunks(items: list) -> list[list]:
    return [items[start : start + PUSH_CHUNK] for start in range(0, len(items), PUSH_CHUNK)]


def _read_conversations(organization_id: int, conversation_ids: Collection[int]) -> list[Conversation]:
    return list(conversation_list(org=_org(organization_id)).filter(pk__in=set(conversation_ids)).order_by("id"))


def _read_messages(organization_id: int, message_ids: Collection[int]) -> list[Message]:
    messages = Message.objects.for_org(_org(organization_id)).filter(pk__in=set(message_ids))
    return list(messages.select_related("media").order_by("id"))


def publish_conversations_on_commit(*, organization_id: int, conversation_ids: Collection[int]) -> None:
    """conversation.updated for these conversations, read after commit."""
    if conversation_ids:
        ids = list(conversation_ids)
        run_after_commit(
            lambda: realtime.publish(organization_id, _conversation_events(_read_conversations(organization_id, ids)))
        )


def publish_messages_on_commit(*, organization_id: int, message_ids: Collection[int], event: str) -> None:
    """message.created / message.updated for these messages, read after commit."""
    if message_ids:
        ids = list(message_ids)
        run_after_commit(
            lambda: realtime.publish(
                organization_id, _message_events(organization_id, _read_messages(organization_id, ids), event)
            )
        )


def publish_ingested_on_commit(
    *,
    organization_id: int,
    created: list[Message],
    conversations: list[Conversation],
    updated_message_ids: Collection[int],
) -> None:
    """A webhook batch's events in one push after commit: message.created and conversation.updated from the
    objects as they were just written (no read back: the ingest's hot path; the conversations must have their
    contact and number loaded, the messages of a media type their media), then message.updated for the messages
    changed in place (statuses, reactions), read after commit."""
    if not (created or conversations or updated_message_ids):
        return
    updated_ids = list(updated_message_ids)

    def publish() -> None:
        updated = _read_messages(organization_id, updated_ids) if updated_ids else []
        realtime.publish(
            organization_id,
            _message_events(organization_id, created, "message.created")
            + _conversation_events(conversations)
            + _message_events(organization_id, updated, "message.updated"),
        )

    run_after_commit(publish)


def publish_conversation_on_commit(*, conversation_id: int, organization_id: int) -> None:
    publish_conversations_on_commit(organization_id=organization_id, conversation_ids=[conversation_id])


def publish_message_on_commit(*, message_id: int, organization_id: int, event: str) -> None:
    publish_messages_on_commit(organization_id=organization_id, message_ids=[message_id], event=event)
