"""Live-inbox events, published after commit: every event carries a list of items in the API's shapes.

`message.created` / `message.updated` carry `{"messages": [...]}` (each as GET conversations/{id}/messages
shows it) and `conversation.updated` carries `{"conversations": [...]}` (each as GET conversations/ shows
it), whoever writes them: the API's services, delivery or the webhook ingest of a whole batch. The items are read
after commit, so a client sees what a REST reload would show; the ingest's new messages and conversations are
sent as written, without the read (its hot path). Each event names the WhatsApp number of each of its items, for
the sockets to drop what their person may not see.

New system log entries (accounts.hooks.system_logs_written, after their commit) go to the organization's admins as
`system_log.created` with `{"logs": [...]}` (as GET logs shows them).

The sockets' control messages are sent from here too: closing those of a principal that may no longer act, and
telling an organization's sockets that who sees which numbers changed.
"""

from collections.abc import Collection, Mapping
from functools import partial

from django.db.models import F
from django.utils import timezone

from accounts.models import Organization, SystemLog
from accounts.serializers import system_logs_data
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


def _conversation_events(conversations: list[Conversation]) -> list[realtime.Event]:
    """conversation.updated; each conversation with its contact and number loaded."""
    tz = timezone.get_current_timezone()
    return [
        (
            "conversation.updated",
            {"conversations": [conversation_data(conversation, tz=tz) for conversation in chunk]},
            [conversation.number_id for conversation in chunk],
        )
        for chunk in _chunks(conversations)
    ]


def _message_events(
    organization_id: int, messages: list[Message], number_of: Mapping[int, int], event: str
) -> list[realtime.Event]:
    """message.created / message.updated; each message with its media loaded (when of a media type). `number_of`:
    the number of each message's conversation, by conversation id."""
    org = _org(organization_id)
    tz = timezone.get_current_timezone()
    events = []
    for chunk in _chunks(messages):
        reply_ids = message_reply_ids(org=org, messages=chunk)
        events.append(
            (
                event,
                {"messages": [message_data(m, reply_ids=reply_ids, tz=tz) for m in chunk]},
                [number_of[m.conversation_id] for m in chunk],
            )
        )
    return events


def _chunks(items: list) -> list[list]:
    return [items[start : start + PUSH_CHUNK] for start in range(0, len(items), PUSH_CHUNK)]


def _read_conversations(organization_id: int, conversation_ids: Collection[int]) -> list[Conversation]:
    return list(conversation_list(org=_org(organization_id)).filter(pk__in=set(conversation_ids)).order_by("id"))


def _read_messages(organization_id: int, message_ids: Collection[int]) -> tuple[list[Message], dict[int, int]]:
    """The messages, and the number of each one's conversation by conversation id (joined: no second query)."""
    messages = Message.objects.for_org(_org(organization_id)).filter(pk__in=set(message_ids))
    read = list(
        messages.select_related("media").annotate(conversation_number_id=F("conversation__number_id")).order_by("id")
    )
    return read, {message.conversation_id: message.conversation_number_id for message in read}


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
                organization_id, _message_events(organization_id, *_read_messages(organization_id, ids), event)
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
        updated, updated_numbers = _read_messages(organization_id, updated_ids) if updated_ids else ([], {})
        # The new messages' conversations are the batch's (each one it wrote a message to).
        created_numbers = {conversation.pk: conversation.number_id for conversation in conversations}
        realtime.publish(
            organization_id,
            _message_events(organization_id, created, created_numbers, "message.created")
            + _conversation_events(conversations)
            + _message_events(organization_id, updated, updated_numbers, "message.updated"),
        )

    run_after_commit(publish)


def publish_conversation_on_commit(*, conversation_id: int, organization_id: int) -> None:
    publish_conversations_on_commit(organization_id=organization_id, conversation_ids=[conversation_id])


def publish_message_on_commit(*, message_id: int, organization_id: int, event: str) -> None:
    publish_messages_on_commit(organization_id=organization_id, message_ids=[message_id], event=event)


def sockets_close_on_commit(*, organization_id: int, user_id: int | None = None, api_key_id: int | None = None) -> None:
    """After commit, close the live-inbox sockets of a member (user_id), of an API key (api_key_id), or else of the
    whole organization: they may no longer act (subscribed to accounts.hooks; the socket closes with 4403)."""
    if api_key_id is not None:
        group = realtime.api_key_group(api_key_id)
    elif user_id is not None:
        group = realtime.member_group(organization_id, user_id)
    else:
        group = realtime.org_group(organization_id)
    run_after_commit(partial(realtime.signal, group, "inbox.close"), what=f"close sockets of {group}")


def embed_sockets_close_on_commit(*, embed_id: int) -> None:
    """After commit, close the live sockets of an inbox embed (revoked, deleted: messaging.services.embeds)."""
    group = realtime.embed_group(embed_id)
    run_after_commit(partial(realtime.signal, group, "inbox.close"), what=f"close sockets of {group}")


def session_sockets_close_on_commit(*, user_id: int, session_ids: list[int]) -> None:
    """After commit, close the live-inbox sockets opened within these sessions of a person (subscribed to
    accounts.hooks.sessions_ended; the socket closes with 4403). Their other sessions' sockets stay open."""
    for session_id in session_ids:
        group = realtime.session_group(session_id)
        run_after_commit(partial(realtime.signal, group, "inbox.close"), what=f"close sockets of {group}")


def access_changed_on_commit(*, organization_id: int) -> None:
    """After commit, tell the organization's sockets that who sees which numbers may have changed (an assignment,
    a role, a team): each works out again what its person sees."""
    group = realtime.org_group(organization_id)
    run_after_commit(partial(realtime.signal, group, "inbox.access_changed"), what=f"access changed in {group}")


SYSTEM_LOG_EVENT = "system_log.created"


def system_logs_publish(*, organization_id: int, logs: list[SystemLog]) -> None:
    """Push new system log entries to the organization's admins (called after their commit; best effort)."""
    realtime.publish(
        organization_id,
        [(SYSTEM_LOG_EVENT, {"logs": system_logs_data(chunk)}, realtime.ORGANIZATION_WIDE) for chunk in _chunks(logs)],
    )
