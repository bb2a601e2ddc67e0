"""Read paths of the dashboard: the organization's headline figures and its messages per day.

Every figure is an aggregate query (COUNT with FILTER, grouped by TruncDate): no loop runs over messages.
Days are calendar days in the organization's time zone (its "timezone" setting, else UTC), grouped in the database
(`AT TIME ZONE` on PostgreSQL): a day on a daylight-saving change has 23 or 25 hours. Messages, conversations and
numbers are counted on `number_ids`, the numbers the reader may see (selectors.access; None: all); contacts belong to
the whole organization (one may write to several numbers) and are all counted.
"""

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import Organization
from accounts.web import organization_time_zone
from messaging import extensions
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


# The fields of each day of the analytics endpoint's metrics (messages is the default, and the dashboard's).
DAILY_FIELDS = {
    "messages": tuple(DAY_COUNTS),
    "contacts": ("created", "opted_out"),
    "broadcasts": ("started", "sent", "delivered", "read"),
}


def organization_today(org: Organization) -> date:
    return timezone.localdate(timezone.now(), organization_time_zone(org))


def day_bounds(*, org: Organization, start: date, end: date) -> tuple[datetime, datetime, ZoneInfo]:
    """The instants the days `start` to `end` (inclusive) of the organization's time zone begin and end, and the
    zone. Aware datetimes built in the zone: midnight to midnight, 23 or 25 hours on a daylight-saving change."""
    tz = organization_time_zone(org)
    return (
        datetime.combine(start, time.min, tzinfo=tz),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz),
        tz,
    )


def per_day(
    queryset: QuerySet, *, field: str, since: datetime, until: datetime, tz: ZoneInfo, counts: dict[str, Count]
) -> dict[date, dict[str, int]]:
    """`counts` of the rows of `queryset` whose `field` falls between `since` and `until` (excluded), per calendar
    day in `tz` ({day: {name: count}}, days without rows left out): one GROUP BY in the database."""
    rows = (
        queryset.filter(**{f"{field}__gte": since, f"{field}__lt": until})
        .annotate(day=TruncDate(field, tzinfo=tz))
        .order_by()  # a default ordering would join the GROUP BY
        .values("day")
        .annotate(**counts)
    )
    return {row.pop("day"): row for row in rows}


def _every_day(start: date, end: date, by_day: Mapping[date, Mapping[str, int]], fields: tuple[str, ...]) -> list[dict]:
    days = (start + timedelta(days=offset) for offset in range((end - start).days + 1))
    return [{"date": day, **{name: by_day.get(day, {}).get(name, 0) for name in fields}} for day in days]


def _messages(*, org: Organization, number_ids: NumberIds) -> QuerySet[Message]:
    return only_visible_numbers(Message.objects.for_org(org), number_ids, field="conversation__number_id")


def message_analytics(*, org: Organization, start: date, end: date, number_ids: NumberIds = None) -> list[dict]:
    """One row per day from `start` to `end` (inclusive) in the organization's time zone, days without messages
    included: `{date, sent, received, delivered, read, failed}`, each day's messages counted by when they were
    created.

    Outbound messages count by the status they have now: `sent` is every one the provider accepted (sent,
    delivered or read), `delivered` those delivered or read, `read` those read, `failed` those that failed
    (queued ones count nowhere yet); `received` is the inbound messages.
    """
    since, until, tz = day_bounds(org=org, start=start, end=end)
    counts = {name: Count("id", filter=condition) for name, condition in DAY_COUNTS.items()}
    by_day = per_day(
        _messages(org=org, number_ids=number_ids), field="created_at", since=since, until=until, tz=tz, counts=counts
    )
    return _every_day(start, end, by_day, DAILY_FIELDS["messages"])


def contact_analytics(*, org: Organization, start: date, end: date) -> list[dict]:
    """One row per day (as message_analytics): `{date, created, opted_out}`, the contacts created that day and
    those who opted out of marketing that day (and have not opted back in). Contacts of the whole organization."""
    since, until, tz = day_bounds(org=org, start=start, end=end)
    contacts = Contact.objects.for_org(org)
    created = per_day(contacts, field="created_at", since=since, until=until, tz=tz, counts={"created": Count("id")})
    opted_out = per_day(
        contacts.filter(opted_out=True),
        field="opted_out_at",
        since=since,
        until=until,
        tz=tz,
        counts={"opted_out": Count("id")},
    )
    merged = {day: {**created.get(day, {}), **opted_out.get(day, {})} for day in created.keys() | opted_out.keys()}
    return _every_day(start, end, merged, DAILY_FIELDS["contacts"])


def broadcast_analytics(*, org: Organization, start: date, end: date, number_ids: NumberIds = None) -> list[dict]:
    """One row per day (as message_analytics): `{date, started, sent, delivered, read}`, counted by the app that
    sends broadcasts (campaigns registers them: messaging.extensions.DailyFigures); 0 every day without it."""
    since, until, tz = day_bounds(org=org, start=start, end=end)
    figures = extensions.daily_figures("broadcasts")
    by_day = {} if figures is None else figures.read(org=org, since=since, until=until, tz=tz, number_ids=number_ids)
    return _every_day(start, end, by_day, DAILY_FIELDS["broadcasts"])


def analytics(*, org: Organization, metric: str, start: date, end: date, number_ids: NumberIds = None) -> list[dict]:
    """The analytics endpoint's days of one metric (DAILY_FIELDS)."""
    if metric == "contacts":
        return contact_analytics(org=org, start=start, end=end)
    if metric == "broadcasts":
        return broadcast_analytics(org=org, start=start, end=end, number_ids=number_ids)
    return message_analytics(org=org, start=start, end=end, number_ids=number_ids)


def dashboard_stats(*, org: Organization, number_ids: NumberIds = None) -> dict:
    """The dashboard's headline figures, and sent/received for each of the last 7 days (today included)."""
    now = timezone.now()
    messages = _messages(org=org, number_ids=number_ids).aggregate(
        total=Count("id"), last_24h=Count("id", filter=Q(created_at__gte=now - timedelta(hours=24)))
    )
    today = organization_today(org)
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
