"""Push to the organization's live inbox (Channels group `org.<id>`), after commit.

The channel layer is at-most-once, so every event carries a per-organization sequence number:
a client that sees a gap, or reconnects, catches up over REST.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)


def org_group(organization_id: int) -> str:
    return f"org.{organization_id}"


def _next_sequence(organization_id: int) -> int:
    key = f"realtime:seq:{organization_id}"
    cache.add(key, 0, timeout=None)
    return cache.incr(key)


def publish(organization_id: int, event_type: str, data: dict) -> None:
    """Send now (call only after commit). Never raises: the push is best effort by design."""
    try:
        layer = get_channel_layer()
        if layer is None:
            return
        message = {"type": "inbox.event", "event": event_type, "seq": _next_sequence(organization_id), "data": data}
        async_to_sync(layer.group_send)(org_group(organization_id), message)
    except Exception:
        logger.exception("realtime publish %s failed for organization %s", event_type, organization_id)


def publish_on_commit(organization_id: int, event_type: str, data: dict) -> None:
    transaction.on_commit(lambda: publish(organization_id, event_type, data))
