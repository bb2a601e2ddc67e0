"""Reads of outbound webhooks: the endpoints and their delivery log (the API and the settings page), the event types
an organization subscribes to, and the `data` of each event type, built from the rows in one query per batch."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery

from accounts.models import Organization
from automation.models import WebhookDelivery, WebhookEndpoint
from campaigns.models import Campaign
from messaging.models import Contact, Conversation, Message, Tag
from messaging.serializers.conversations import datetime_data

CAMPAIGN_COUNTERS = ("total", "sent", "delivered", "read", "replied", "failed", "skipped")

# --- endpoints and deliveries ------------------------------------------------------------------------------------


def webhook_endpoint_list(*, org: Organization) -> QuerySet[WebhookEndpoint]:
    """The organization's endpoints, newest first, each with its latest delivery's status and time
    (`last_delivery_status`, `last_delivery_at`: None before the first)."""
    latest = WebhookDelivery.objects.filter(endpoint=OuterRef("pk")).order_by("-created_at", "-id")
    return (
        WebhookEndpoint.objects.for_org(org)
        .select_related("created_by")
        .annotate(
            last_delivery_status=Subquery(latest.values("status")[:1]),
            last_delivery_at=Subquery(latest.values("created_at")[:1]),
        )
    )


def webhook_delivery_list(
    *, org: Organization, endpoint: WebhookEndpoint, status: str = "", event_type: str = ""
) -> QuerySet[WebhookDelivery]:
    """An endpoint's delivery log, newest first; filtered by status and event type when given."""
    deliveries = WebhookDelivery.objects.for_org(org).filter(endpoint=endpoint)
    if status:
        deliveries = deliveries.filter(status=status)
    if event_type:
        deliveries = deliveries.filter(event_type=event_type)
    return deliveries


def subscribed_event_types(*, organization_id: int) -> set[str]:
    """Every event type at least one active endpoint of the organization subscribes to."""
    lists = WebhookEndpoint.objects.filter(organization_id=organization_id, active=True).values_list(
        "events", flat=True
    )
    return {event_type for events in lists if isinstance(events, list) for event_type in events}


def subscribed_endpoints(*, organization_id: int, event_type: str) -> list[WebhookEndpoint]:
    """The active endpoints of the organization subscribed to this event type (a handful: filtered here, as
    SQLite has no JSON containment lookup)."""
    endpoints = WebhookEndpoint.objects.filter(organization_id=organization_id, active=True).only("id", "events")
    return [endpoint for endpoint in endpoints if event_type in (endpoint.events or [])]


# --- the data of each event type (documented in the README's "Outbound webhooks") --------------------------------


def iso(value) -> str | None:
    """A datetime in UTC, ISO 8601 with Z, as the API writes them."""
    return datetime_data(value, UTC)


def _ordered(rows: Iterable, ids: Iterable[int]) -> list:
    by_id = {row.pk: row for row in rows}
    return [by_id[pk] for pk in dict.fromkeys(ids) if pk in by_id]


def message_events_data(*, organization_id: int, message_ids: list[int]) -> list[dict]:
    """message.received: the message and who sent it, one item per message, in the order given."""
    messages = Message.objects.filter(organization_id=organization_id, pk__in=message_ids).select_related(
        "conversation__contact"
    )
    return [
        {
            "message_id": message.pk,
            "conversation_id": message.conversation_id,
            "contact_id": message.conversation.contact_id,
            "number_id": message.conversation.number_id,
            "phone": message.conversation.contact.phone,
            "contact_name": message.conversation.contact.name or message.conversation.contact.profile_name,
            "type": message.type,
            "text": message.text,
            "provider_message_id": message.provider_message_id,
            "timestamp": iso(message.provider_timestamp or message.created_at),
        }
        for message in _ordered(messages, message_ids)
    ]


def status_events_data(*, organization_id: int, changes: list[tuple[int, str, int | None]]) -> list[dict]:
    """message.status: one item per status change ([(message id, new status, error code)]), with the message's
    error (code and title) when it failed."""
    ids = [message_id for message_id, _, _ in changes]
    messages = {
        message.pk: message
        for message in Message.objects.filter(organization_id=organization_id, pk__in=ids).select_related(
            "conversation__contact"
        )
    }
    items = []
    for message_id, status, error_code in changes:
        message = messages.get(message_id)
        if message is None:
            continue
        failed = status == Message.Status.FAILED
        items.append(
            {
                "message_id": message.pk,
                "conversation_id": message.conversation_id,
                "contact_id": message.conversation.contact_id,
                "number_id": message.conversation.number_id,
                "phone": message.conversation.contact.phone,
                "status": status,
                "error": {"code": error_code, "title": message.error_title} if failed else None,
                "provider_message_id": message.provider_message_id,
            }
        )
    return items


def conversation_events_data(
    *, organization_id: int, conversation_ids: list[int], changed: list[str] | None = None
) -> list[dict]:
    """conversation.created, .updated and .assigned: the conversation as it is now (its contact's phone, status,
    assignee and team); `changed` lists the fields that changed (conversation.updated)."""
    conversations = Conversation.objects.filter(
        organization_id=organization_id, pk__in=conversation_ids
    ).select_related("contact", "assigned_to", "team")
    items = []
    for conversation in _ordered(conversations, conversation_ids):
        assignee, team = conversation.assigned_to, conversation.team
        item = {
            "conversation_id": conversation.pk,
            "contact_id": conversation.contact_id,
            "number_id": conversation.number_id,
            "phone": conversation.contact.phone,
            "contact_name": conversation.contact.name or conversation.contact.profile_name,
            "status": conversation.status,
            "assigned_to": {"id": assignee.pk, "name": assignee.name, "email": assignee.email} if assignee else None,
            "team": {"id": team.pk, "name": team.name} if team else None,
            "created_at": iso(conversation.created_at),
        }
        if changed is not None:
            item["changed"] = sorted(changed)
        items.append(item)
    return items


def contact_events_data(
    *, organization_id: int, contact_ids: list[int], changed: list[str] | None = None
) -> list[dict]:
    """contact.created, .updated, .opted_out and .opted_in: the contact as it is now; `changed` lists the fields
    that changed (contact.updated)."""
    contacts = Contact.objects.filter(organization_id=organization_id, pk__in=contact_ids).prefetch_related(
        Prefetch("tags", queryset=Tag.objects.order_by("name").only("id", "name"))
    )
    items = []
    for contact in _ordered(contacts, contact_ids):
        item = {
            "contact_id": contact.pk,
            "phone": contact.phone,
            "wa_id": contact.wa_id,
            "name": contact.name or contact.profile_name,
            "tags": [tag.name for tag in contact.tags.all()],
            "opted_out": contact.opted_out,
        }
        if changed is not None:
            item["changed"] = sorted(changed)
        items.append(item)
    return items


def campaign_events_data(*, organization_id: int, campaign_ids: list[int]) -> list[dict]:
    """campaign.completed: the campaign's status and final counters."""
    campaigns = Campaign.objects.filter(organization_id=organization_id, pk__in=campaign_ids)
    return [
        {
            "campaign_id": campaign.pk,
            "name": campaign.name,
            "number_id": campaign.number_id,
            "template_name": campaign.template_name,
            "language": campaign.language,
            "status": campaign.status,
            **{name: getattr(campaign, name) for name in CAMPAIGN_COUNTERS},
            "started_at": iso(campaign.started_at),
            "finished_at": iso(campaign.finished_at),
        }
        for campaign in _ordered(campaigns, campaign_ids)
    ]
