"""Push to the organization's live inbox (Channels group `org.<id>`, read by messaging.consumers.InboxConsumer),
after commit.

The channel layer is at-most-once, so every event carries a per-organization sequence number:
a client that sees a gap, or reconnects, catches up over REST. Each event also carries the WhatsApp number of each
of its items (`number_ids`), for the socket to drop what its person may not see (messaging.selectors.access); the
socket never forwards them. An event reaches the roles declared for its type (`event_roles`): messaging's own events
are the inbox's, for agents and admins; an app above messaging declares the events it publishes for other roles in its
AppConfig.ready() (messaging never imports it). An event about no number (ORGANIZATION_WIDE) reaches every socket
of the roles that hear it.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache

from accounts.permissions import IsAgent
from whatsapp_hub.ops import context

logger = logging.getLogger(__name__)

# What an event about no WhatsApp number carries instead of its items' numbers: every socket of the organization gets
# it (a message template changed: the templates app's `template.updated`).
ORGANIZATION_WIDE = "organization"
# An event as the services build it: (event type, {"<items>": [...]}, the number id of each item, in order, or
# ORGANIZATION_WIDE).
Event = tuple[str, dict, list[int] | str]


# The roles whose sockets hear each event type declared by the apps above messaging; any other type is the inbox's.
_EVENT_ROLES: dict[str, frozenset[str]] = {}


def event_roles_declare(event_type: str, roles: frozenset[str]) -> None:
    """Events of this type reach the sockets of these roles only (call from an AppConfig.ready())."""
    _EVENT_ROLES[event_type] = frozenset(roles)


def event_roles(event_type: str) -> frozenset[str]:
    """The roles whose sockets hear events of this type: as declared, else the inbox's (agents and admins)."""
    return _EVENT_ROLES.get(event_type, IsAgent.roles)


def org_group(organization_id: int) -> str:
    return f"org.{organization_id}"


def member_group(organization_id: int, user_id: int) -> str:
    """The sockets of one member of one organization."""
    return f"member.{organization_id}.{user_id}"


def api_key_group(api_key_id: int) -> str:
    """The sockets opened with a ticket of one API key."""
    return f"apikey.{api_key_id}"


def session_group(session_id: int) -> str:
    """The sockets opened within one of a person's sessions (accounts.sessions): a browser's, or an API sign-in's
    ticket."""
    return f"session.{session_id}"


def embed_group(embed_id: int) -> str:
    """The sockets of one inbox embed (messaging.consumers.EmbedConsumer)."""
    return f"embed.{embed_id}"


def _sequence_key(organization_id: int) -> str:
    return f"realtime:seq:{organization_id}"


def current_sequence(organization_id: int) -> int:
    """The sequence number of the organization's latest event (0 before the first)."""
    return cache.get(_sequence_key(organization_id), 0)


def _reserve_sequence(organization_id: int, count: int) -> int:
    """The first of `count` consecutive sequence numbers of the organization: one increment for a whole push
    (an ingest batch pushes dozens of events), atomic, so concurrent pushes get ranges of their own."""
    key = _sequence_key(organization_id)
    cache.add(key, 0, timeout=None)
    return cache.incr(key, count) - count + 1


# A push's events travel in channel-layer messages of at most this many: every socket of the organization pops each
# layer message from Redis, so an inbound message's message.created and conversation.updated in one layer message
# halve the work of every socket (bench/ws_fanout.py), while a big ingest batch still goes in bounded pieces.
EVENTS_PER_LAYER_MESSAGE = 20


async def _group_send_all(layer, group: str, messages: list[dict]) -> None:
    for message in messages:
        await layer.group_send(group, message)


def publish(organization_id: int, events: list[Event]) -> None:
    """Send these events now, in order (call only after commit). One event-loop run for all: each async_to_sync
    call costs a loop and the channel layer's connections. Never raises: the push is best effort by design."""
    if not events:
        return
    try:
        layer = get_channel_layer()
        if layer is None:
            return
        first = _reserve_sequence(organization_id, len(events))
        numbered = [
            {"event": event_type, "seq": first + index, "data": data, "number_ids": number_ids}
            for index, (event_type, data, number_ids) in enumerate(events)
        ]
        # The request id travels along: the sockets' log lines name the webhook or request the events came from.
        request_id = context.current()
        messages = [
            {
                "type": "inbox.events",
                "events": numbered[start : start + EVENTS_PER_LAYER_MESSAGE],
                "request_id": request_id,
            }
            for start in range(0, len(numbered), EVENTS_PER_LAYER_MESSAGE)
        ]
        async_to_sync(_group_send_all)(layer, org_group(organization_id), messages)
        logger.info(
            "pushed %d events to %s (seq %d-%d)",
            len(events),
            org_group(organization_id),
            first,
            first + len(events) - 1,
        )
    except Exception:
        kinds = sorted({event_type for event_type, _, _ in events})
        logger.exception("realtime publish %s failed for organization %s", kinds, organization_id)


def signal(group: str, message_type: str) -> None:
    """Send the sockets of `group` a control message of this type (no sequence number, nothing for the client:
    `inbox.close`, `inbox.access_changed`). Call after commit; best effort like publish."""
    try:
        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.group_send)(group, {"type": message_type})
    except Exception:
        logger.exception("realtime %s to %s failed", message_type, group)


def member_send(organization_id: int, user_id: int, frame: dict) -> None:
    """Send one member's sockets in this organization a frame for them alone (a notification, their unread count):
    no sequence number (the organization's numbering is the shared events'; the bell reloads over REST on each
    connection), and no other socket hears it. Call after commit; best effort like publish."""
    try:
        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.group_send)(
                member_group(organization_id, user_id), {"type": "inbox.member", "frame": frame}
            )
    except Exception:
        logger.exception("realtime %s to member %s failed", frame.get("type"), user_id)
