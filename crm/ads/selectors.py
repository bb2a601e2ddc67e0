"""Ad reads: the registry, and what each ad brought over a range of days, aggregated in the database.

Days are calendar days in the organization's time zone (`tz`): a range is [start 00:00, the day after end 00:00) there.
For each ad, over the range:

    referrals              inbound messages carrying the ad's referral, stored in the range
    conversations_started  conversations whose first inbound message carried it (stored in the range)
    new_contacts           of those, the contacts that first message created
    messages               inbound messages of those conversations (all of them: the conversations are the cohort)
    agent_replies          outbound messages people sent in those conversations (not bots, flows or API keys)
    median_first_response  the median time from the referral message to the first reply a person sent after it
                           (percentile_cont; conversations without a reply do not count)
    deals_created          deals created in the range from the ad: `Deal.ad`, else the ad that started the first
                           conversation of the deal's contact before the deal (each deal counts for one ad)
    deals_won, won_values  of those, the ones won, and their values summed per currency

Conversations and messages are counted on the numbers the reader may see (`number_ids`, selectors.access).
"""

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import (
    BigIntegerField,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce, TruncDate

from accounts.models import Organization
from crm.ads.models import Ad, AdReferral
from crm.models import Deal, Outcome
from messaging.models import Conversation, Message
from messaging.selectors.access import NumberIds, only_visible_numbers
from whatsapp_hub.aggregates import Median

Direction = Message.Direction
CONVERSATION_FIGURES = ("referrals", "conversations_started", "new_contacts")
MESSAGE_FIGURES = ("messages", "agent_replies")
DEAL_FIGURES = ("deals_created", "deals_won")


def day_bounds(start: date, end: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants that open `start` and close `end` (both inclusive) in `tz`."""
    opening = datetime.combine(start, time.min, tzinfo=tz)
    closing = datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz)
    return opening, closing


def ad_list(*, org: Organization) -> QuerySet[Ad]:
    return Ad.objects.for_org(org)


def ad_of_conversation(*, conversation: Conversation) -> Ad | None:
    """The ad whose referral started this conversation (its first inbound message), if one did."""
    referral = (
        AdReferral.objects.filter(
            organization_id=conversation.organization_id, conversation=conversation, starts_conversation=True
        )
        .select_related("ad")
        .first()
    )
    return referral.ad if referral else None


def _referrals(org: Organization, opening: datetime, closing: datetime, number_ids: NumberIds):
    referrals = AdReferral.objects.for_org(org).filter(at__gte=opening, at__lt=closing)
    return only_visible_numbers(referrals, number_ids, field="conversation__number_id").order_by()


def _conversation_figures(referrals: QuerySet[AdReferral], group: tuple[str, ...]) -> list[dict]:
    first_reply = (
        Message.objects.filter(
            conversation_id=OuterRef("conversation_id"),
            direction=Direction.OUTBOUND,
            sent_by__isnull=False,
            created_at__gte=OuterRef("at"),
        )
        .order_by("created_at", "id")
        .values("created_at")[:1]
    )
    started = Q(starts_conversation=True)
    waited = ExpressionWrapper(F("first_reply_at") - F("at"), output_field=DurationField())
    return list(
        referrals.annotate(first_reply_at=Subquery(first_reply))
        .values(*group)
        .annotate(
            referrals=Count("id"),
            conversations_started=Count("id", filter=started),
            new_contacts=Count("id", filter=started & Q(new_contact=True)),
            median_first_response=Median(waited, filter=started, output_field=DurationField()),
        )
    )


def _message_figures(
    org: Organization, opening: datetime, closing: datetime, number_ids: NumberIds, ad_ids: list[int] | None
) -> list[dict]:
    """Messages of the conversations the ads started in the range, per ad (a conversation has at most one
    starting referral: the join adds no rows)."""
    prefix = "conversation__ad_referrals__"
    started = {f"{prefix}starts_conversation": True, f"{prefix}at__gte": opening, f"{prefix}at__lt": closing}
    if ad_ids is not None:
        started[f"{prefix}ad_id__in"] = ad_ids
    messages = only_visible_numbers(
        Message.objects.for_org(org).filter(**started), number_ids, field="conversation__number_id"
    )
    return list(
        messages.order_by()
        .values(ad_id=F(f"{prefix}ad_id"))
        .annotate(
            messages=Count("id", filter=Q(direction=Direction.INBOUND)),
            agent_replies=Count("id", filter=Q(direction=Direction.OUTBOUND, sent_by__isnull=False)),
        )
    )


def _deals(org: Organization, opening: datetime, closing: datetime) -> QuerySet[Deal]:
    """The deals created in the range, each with the ad it came from (`from_ad`), those from no ad left out."""
    contact_first_ad = (
        AdReferral.objects.filter(
            organization_id=org.pk,
            contact_id=OuterRef("contact_id"),
            starts_conversation=True,
            at__lte=OuterRef("created_at"),
        )
        .order_by("at", "id")
        .values("ad_id")[:1]
    )
    return (
        Deal.objects.for_org(org)
        .filter(created_at__gte=opening, created_at__lt=closing)
        .annotate(from_ad=Coalesce(F("ad_id"), Subquery(contact_first_ad), output_field=BigIntegerField()))
        .filter(from_ad__isnull=False)
        .order_by()
    )


def _deal_figures(deals: QuerySet[Deal], group: tuple[str, ...]) -> dict[tuple, dict]:
    """Per group: deals created, won, and the won values per currency (one grouped query)."""
    won = Q(status=Outcome.WON)
    rows = deals.values(*group, "currency").annotate(
        created=Count("id"), won=Count("id", filter=won), value=Sum("value", filter=won)
    )
    figures: dict[tuple, dict] = defaultdict(lambda: {"deals_created": 0, "deals_won": 0, "won_values": []})
    for row in rows.order_by(*group, "currency"):
        entry = figures[tuple(row[name] for name in group)]
        entry["deals_created"] += row["created"]
        entry["deals_won"] += row["won"]
        if row["won"]:
            entry["won_values"].append({"currency": row["currency"], "value": row["value"]})
    return figures


def _zero() -> dict:
    return {
        **dict.fromkeys(CONVERSATION_FIGURES + MESSAGE_FIGURES + DEAL_FIGURES, 0),
        "median_first_response": None,
        "won_values": [],
    }


def ad_figures(
    *, org: Organization, start: date, end: date, tz: ZoneInfo, number_ids: NumberIds = None, ad: Ad | None = None
) -> list[Ad]:
    """Every ad with something in the range (a referral or a deal), or `ad` alone, with its figures (see the module)
    as attributes; the most conversations started first. A fixed number of grouped queries."""
    opening, closing = day_bounds(start, end, tz)
    referrals = _referrals(org, opening, closing, number_ids)
    deals = _deals(org, opening, closing)
    if ad is not None:
        referrals, deals = referrals.filter(ad=ad), deals.filter(from_ad=ad.pk)
    by_ad: dict[int, dict] = defaultdict(_zero)
    for row in _conversation_figures(referrals, ("ad_id",)):
        by_ad[row.pop("ad_id")].update(row)
    for row in _message_figures(org, opening, closing, number_ids, None if ad is None else [ad.pk]):
        by_ad[row.pop("ad_id")].update(row)
    for (ad_id,), row in _deal_figures(deals, ("from_ad",)).items():
        by_ad[ad_id].update(row)
    if ad is not None:
        return [_with_figures(ad, by_ad[ad.pk])]
    ads = Ad.objects.for_org(org).in_bulk(list(by_ad))
    rows = [_with_figures(ads[ad_id], figures) for ad_id, figures in by_ad.items() if ad_id in ads]
    rows.sort(key=lambda ad: (-ad.conversations_started, -ad.referrals, -ad.last_seen_at.timestamp(), -ad.pk))
    return rows


def _with_figures(ad: Ad, figures: dict) -> Ad:
    """The ad with its figures as attributes (as annotations would be)."""
    for name, value in figures.items():
        setattr(ad, name, value)
    return ad


def ad_days(
    *, org: Organization, start: date, end: date, tz: ZoneInfo, number_ids: NumberIds = None, ad: Ad | None = None
) -> list[dict]:
    """Per day of the range (every day, empty ones included) and per ad (or `ad` alone): conversations started,
    new contacts and referrals on that day, and deals created: `{date, ad_id, ...}`, by date then ad."""
    opening, closing = day_bounds(start, end, tz)
    referrals = _referrals(org, opening, closing, number_ids).annotate(day=TruncDate("at", tzinfo=tz))
    deals = _deals(org, opening, closing).annotate(day=TruncDate("created_at", tzinfo=tz))
    if ad is not None:
        referrals, deals = referrals.filter(ad=ad), deals.filter(from_ad=ad.pk)
    cells: dict[tuple[date, int], dict] = defaultdict(
        lambda: {**dict.fromkeys(CONVERSATION_FIGURES, 0), "deals_created": 0}
    )
    for row in referrals.values("day", "ad_id").annotate(
        referrals=Count("id"),
        conversations_started=Count("id", filter=Q(starts_conversation=True)),
        new_contacts=Count("id", filter=Q(starts_conversation=True, new_contact=True)),
    ):
        cells[(row.pop("day"), row.pop("ad_id"))].update(row)
    for row in deals.values("day", "from_ad").annotate(deals_created=Count("id")):
        cells[(row["day"], row["from_ad"])]["deals_created"] = row["deals_created"]
    ad_ids = sorted({ad_id for _, ad_id in cells} | ({ad.pk} if ad is not None else set()))
    days = [start + timedelta(days=offset) for offset in range((end - start).days + 1)]
    empty = {**dict.fromkeys(CONVERSATION_FIGURES, 0), "deals_created": 0}
    return [{"date": day, "ad_id": ad_id, **cells.get((day, ad_id), empty)} for day in days for ad_id in ad_ids]
