"""Push to the organization's live inbox (Channels group `org.<id>`), after commit.

The channel layer is at-most-once, so every event carries a per-organization sequence number:
a client that sees a gap, or reconnects, catches up over REST.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache

logger = logging.getLogger(__name__)


def org_group(organization_id: int) -> str:
    return f"org.{organization_id}"


def _reserve_sequence(organization_id: int, count: int) -> int:
    """The first of `count` consecutive sequence numbers of the organization: one increment for a whole push
    (an ingest batch pushes dozens of events), atomic, so concurrent pushes get ranges of their own."""
    key = f"realtime:seq:{organization_id}"
    cache.add(key, 0, timeout=None)
    return cache.incr(key, count) - count + 1


async def _group_send_all(layer, group: str, messages: list[dict]) -> None:
    for message in messages:
        await layer.group_send(group, message)


def publish(organization_id: int, events: list[tuple[str, dict]]) -> None:
    """Send these (event type, data) now, in order (call only after commit). One event-loop run for all: each
    async_to_sync call costs a loop and the channel layer's connections. Never raises: the push is best effort
    by design."""
    if not events:
        return
    try:
        layer = get_channel_layer()
        if layer is None:
            return
        first = _reserve_sequence(organization_id, len(events))
        messages = [
            {"type": "inbox.event", "event": event_type, "seq": first + index, "data": data}
            for index, (event_type, data) in enumerate(events)
        ]
        async_to_sync(_group_send_all)(layer, org_group(organization_id), messages)
    except Exception:
        kinds = sorted({event_type for event_type, _ in events})
        logger.exception("realtime publish %s failed for organization %s", kinds, organization_id)
