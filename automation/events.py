"""Outbound webhook events: the event types an endpoint may subscribe to, and `emit`, the one way any part of the
hub announces one.

    from automation import events
    events.emit(organization_id=org.pk, type="flow.completed", data={"flow_id": 3, "run_id": 41, ...})

`emit` waits for the commit of the caller's transaction (nothing is announced for work rolled back; outside a
transaction it runs at once), then fans the event out: one delivery row per active endpoint of the organization
subscribed to its type, created in bulk, and the delivery tasks queued (automation/services/webhooks.py sends,
signs, retries). Every endpoint gets the same event id. `emit_many` does the same for a list of events of one
type (a batch of inbound messages: one check, one insert).

Cheap when nobody listens: the event types the organization's active endpoints subscribe to are cached
(SUBSCRIPTIONS_TTL, dropped whenever an endpoint changes), so an event nobody subscribes to costs one cache read and
no query. The subscribers below (connected to messaging's and campaigns' hooks in automation/apps.py) check that
before they read anything to build an event's data.

Data payloads are small and stable: ids, a phone, a message's type and text, a status and its error; the README's
"Outbound webhooks" section documents each.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from automation.selectors import webhooks as data
from whatsapp_hub.aftercommit import run_after_commit

# Every event type an endpoint may subscribe to, with what it means (the settings page shows these).
EVENT_TYPES: dict[str, str] = {
    "message.received": _("A customer's message arrived."),
    "message.status": _("A message sent to a customer was sent, delivered, read or failed."),
    "conversation.created": _("A conversation started (a customer's first message on a number, or a first send)."),
    "conversation.updated": _("A conversation was closed or reopened, or its assignee or team changed."),
    "conversation.assigned": _("A conversation was assigned to a member or a team, or unassigned."),
    "contact.created": _("A contact was added (by hand, an import, or a customer's first message)."),
    "contact.updated": _("A contact's name, phone, tags, attributes, notes or active state changed."),
    "contact.opted_out": _("A contact opted out of marketing messages."),
    "contact.opted_in": _("A contact opted back in to marketing messages."),
    "campaign.completed": _("A campaign finished sending."),
    "flow.completed": _("A flow run reached its end."),
}
# The test ping's type: sent by "Send test ping" only, never subscribed to.
PING = "ping"

SUBSCRIPTIONS_TTL = 60  # seconds; endpoint changes drop the entry at once


def _subscriptions_key(organization_id: int) -> str:
    return f"automation:webhooks:types:{organization_id}"


def subscribed_types(organization_id: int) -> frozenset[str]:
    """The event types at least one active endpoint of the organization subscribes to (cached)."""
    key = _subscriptions_key(organization_id)
    types = cache.get(key)
    if types is None:
        types = sorted(data.subscribed_event_types(organization_id=organization_id))
        cache.set(key, types, SUBSCRIPTIONS_TTL)
    return frozenset(types)


def is_subscribed(organization_id: int, type: str) -> bool:
    """True when an active endpoint of the organization receives events of this type."""
    return type in subscribed_types(organization_id)


def subscriptions_changed(organization_id: int) -> None:
    """Forget the cached subscriptions of the organization (call after an endpoint's change is committed)."""
    cache.delete(_subscriptions_key(organization_id))


def emit(*, organization_id: int, type: str, data: dict) -> None:
    """Announce one event of `type` (one of EVENT_TYPES) with its `data` (a JSON object) to the organization's
    endpoints, after the caller's transaction commits. Never raises for a delivery problem (those are retried and
    logged); a type not in EVENT_TYPES is a programming error (ValueError)."""
    emit_many(organization_id=organization_id, type=type, items=[data])


def emit_many(*, organization_id: int, type: str, items: Sequence[dict]) -> None:
    """`emit` for several events of one type at once: each item is the `data` of one event (its own id)."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {type!r}: add it to automation.events.EVENT_TYPES")
    if items:
        fan_out = partial(_fan_out, organization_id, type, list(items), timezone.now())
        run_after_commit(fan_out, what=f"webhook event {type}")


def _fan_out(organization_id: int, event_type: str, items: list[dict], created_at) -> None:
    if not is_subscribed(organization_id, event_type):
        return
    from automation.services.webhooks import webhook_deliveries_create

    webhook_deliveries_create(
        organization_id=organization_id, event_type=event_type, items=items, created_at=created_at
    )


# --- the hub's own announcements as events (subscribed in automation/apps.py) ------------------------------------
# Each checks the subscriptions before it reads anything: an ingest batch nobody listens to costs one cache read.


def on_message_received(*, organization_id: int, message_ids: list[int], **_) -> None:
    """messaging.hooks.message_received -> message.received, one event per message."""
    if is_subscribed(organization_id, "message.received"):
        items = data.message_events_data(organization_id=organization_id, message_ids=message_ids)
        emit_many(organization_id=organization_id, type="message.received", items=items)


def on_message_status_changed(*, organization_id: int, changes: list[tuple[int, str, int | None]], **_) -> None:
    """messaging.hooks.message_status_changed -> message.status, one event per change."""
    if is_subscribed(organization_id, "message.status"):
        items = data.status_events_data(organization_id=organization_id, changes=changes)
        emit_many(organization_id=organization_id, type="message.status", items=items)


def on_conversation_created(*, organization_id: int, conversation_ids: list[int], **_) -> None:
    """messaging.hooks.conversation_created -> conversation.created."""
    if is_subscribed(organization_id, "conversation.created"):
        items = data.conversation_events_data(organization_id=organization_id, conversation_ids=conversation_ids)
        emit_many(organization_id=organization_id, type="conversation.created", items=items)


def on_conversation_updated(*, organization_id: int, conversation_ids: list[int], fields: list[str], **_) -> None:
    """messaging.hooks.conversation_updated -> conversation.updated (with the fields that changed)."""
    if is_subscribed(organization_id, "conversation.updated"):
        items = data.conversation_events_data(
            organization_id=organization_id, conversation_ids=conversation_ids, changed=fields
        )
        emit_many(organization_id=organization_id, type="conversation.updated", items=items)


def on_conversation_assigned(*, organization_id: int, conversation_id: int, **_) -> None:
    """messaging.hooks.conversation_assigned -> conversation.assigned."""
    if is_subscribed(organization_id, "conversation.assigned"):
        items = data.conversation_events_data(organization_id=organization_id, conversation_ids=[conversation_id])
        emit_many(organization_id=organization_id, type="conversation.assigned", items=items)


def on_contact_created(*, organization_id: int, contact_ids: list[int], **_) -> None:
    """messaging.hooks.contact_created -> contact.created."""
    if is_subscribed(organization_id, "contact.created"):
        items = data.contact_events_data(organization_id=organization_id, contact_ids=contact_ids)
        emit_many(organization_id=organization_id, type="contact.created", items=items)


def on_contact_updated(*, organization_id: int, contact_ids: list[int], fields: list[str], **_) -> None:
    """messaging.hooks.contact_updated -> contact.updated (with the fields that changed)."""
    if is_subscribed(organization_id, "contact.updated"):
        items = data.contact_events_data(organization_id=organization_id, contact_ids=contact_ids, changed=fields)
        emit_many(organization_id=organization_id, type="contact.updated", items=items)


def on_contact_opted_out(*, organization_id: int, contact_id: int, opted_out: bool, **_) -> None:
    """messaging.hooks.contact_opted_out -> contact.opted_out, or contact.opted_in when the contact came back."""
    event_type = "contact.opted_out" if opted_out else "contact.opted_in"
    if is_subscribed(organization_id, event_type):
        items = data.contact_events_data(organization_id=organization_id, contact_ids=[contact_id])
        emit_many(organization_id=organization_id, type=event_type, items=items)


def on_campaign_completed(*, organization_id: int, campaign_id: int, **_) -> None:
    """campaigns.hooks.campaign_completed -> campaign.completed."""
    if is_subscribed(organization_id, "campaign.completed"):
        items = data.campaign_events_data(organization_id=organization_id, campaign_ids=[campaign_id])
        emit_many(organization_id=organization_id, type="campaign.completed", items=items)
