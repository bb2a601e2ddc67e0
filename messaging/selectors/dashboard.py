"""Read paths of the dashboard: the organization's headline figures and its messages per day.

Every figure is an aggregate query (COUNT with FILTER, grouped by TruncDate): no loop runs over messages.
Days are calendar days in the hub's time zone (settings.TIME_ZONE). Messages, conversations and numbers are counted
on `number_ids`, the numbers the reader may see (selectors.access; None: all); contacts belong to the whole
organization (one may write to several numbers) and are all counted.
"""

from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import Organization
from messaging.models import Contact, Conversation, Message, WhatsAppNumber
from messaging.selectors.access import NumberIds, only_visible_numbers
from messaging.selectors.numbers import number_list

STATS_DAYS = 7
Status = Message.Status
# Outbound messages by how far they got: read implies delivered, delivered implies sent.
SENT_STATUSES = (Status.SENT, Status.DELIVERED, Status.READ)
DELIVERED_STATUSES = (Status.DELIVERED, Status.READ)
DAY_COUNTS = {
    "sent": Q(direction=Message.Direction.OUTBOUND, status__in=SENT_STATUSES),
    "received": Q(direction=Message.Direction.INBOUND),
    "delivered": Q(direction=Message.Direction.OUTBOUND, status__in=DELIVERED_STATUSES),
    "read": Q(direction=Message.Direction.OUTBOUND, status=Status.READ),
    "failed": Q(direction=Message.Direction.OUTBOUND, status=Status.FAILED),
}


def broadcasts_sent_count(*, org: Organization) -> int:
    """Broadcasts the organization has sent. Always 0 for now: broadcasts belong to the campaigns app, which does
    not exist yet (and which messaging may not import); it will provide the figure."""
    return 0


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _messages(*, org: Organization, number_ids: NumberIds) -> QuerySet[Message]:
    return only_visible_numbers(Message.objects.for_org(org), number_ids, field="conversation__number_id")


def message_analytics(*, org: Organization, start: date, end: date, number_ids: NumberIds = None) -> list[dict]:
    """One row per day from `start` to `end` (inclusive), days without messages included:
    `{date, sent, received, delivered, read, failed}`, each day's messages counted by when they were created.

    Outbound messages count by the status they have now: `sent` is every one the provider accepted (sent,
    delivered or read), `delivered` those delivered or read, `read` those read, `failed` those that failed
    (queued ones count nowhere yet); `received` is the inbound messages.
    """
    rows = (
        _messages(org=org, number_ids=number_ids)
        .filter(created_at__gte=_start_of(start), created_at__lt=_start_of(end + timedelta(days=1)))
        .annotate(day=TruncDate("created_at"))
        .order_by()  # Message's default ordering would join the GROUP BY
        .values("day")
        .annotate(**{name: Count("id", filter=condition) for name, condition in DAY_COUNTS.items()})
    )
    by_day = {row.pop("day"): row for row in rows}
    zero = dict.fromkeys(DAY_COUNTS, 0)
    days = (start + timedelta(days=offset) for offset in range((end - start).days + 1))
    return [{"date": day, **by_day.get(day, zero)} for day in days]


def dashboard_stats(*, org: Organization, number_ids: NumberIds = None) -> dict:
    """The dashboard's headline figures, and sent/received for each of the last 7 days (today included)."""
    now = timezone.now()
    messages = _messages(org=org, number_ids=number_ids).aggregate(
        total=Count("id"), last_24h=Count("id", filter=Q(created_at__gte=now - timedelta(hours=24)))
    )
    today = timezone.localdate(now)
    analytics = message_analytics(
        org=org, start=today - timedelta(days=STATS_DAYS - 1), end=today, number_ids=number_ids
    )
    conversations = only_visible_numbers(Conversation.objects.for_org(org), number_ids)
    numbers = number_list(org=org, number_ids=number_ids)
    return {
        "total_messages": messages["total"],
        "messages_in_24h": messages["last_24h"],
        "total_contacts": Contact.objects.for_org(org).count(),
        "active_numbers": numbers.filter(status=WhatsAppNumber.Status.ACTIVE).count(),
        "conversations_open": conversations.filter(status=Conversation.Status.OPEN).count(),
        "broadcasts_sent": broadcasts_sent_count(org=org),
        "analytics": [{"date": row["date"], "sent": row["sent"], "received": row["received"]} for row in analytics],
    }
