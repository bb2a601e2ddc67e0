"""Read paths of campaigns: the organization's campaigns (on the numbers the caller sees), a campaign's recipient
log, an audience's preview, the broadcasts' figures per day (the analytics endpoint's metrics=broadcasts)."""

from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, QuerySet

from accounts.models import Organization
from campaigns.models import Campaign, CampaignRecipient
from campaigns.services import audience_contacts, audience_verdicts, campaign_values
from messaging.selectors.access import NumberIds, only_visible_numbers
from messaging.selectors.dashboard import per_day
from templates import rendering
from whatsapp_hub.errors import ServiceError

PREVIEW_SAMPLE = 5


def campaign_list(*, org: Organization, number_ids: NumberIds = None) -> QuerySet[Campaign]:
    """The organization's campaigns on `number_ids` (selectors.access; None: every number), newest first; a
    campaign on a number the caller may not see reads like another organization's."""
    return only_visible_numbers(Campaign.objects.for_org(org), number_ids).select_related("tag")


def broadcast_daily_figures(
    *, org: Organization, since: datetime, until: datetime, tz: ZoneInfo, number_ids: NumberIds = None
) -> dict:
    """Per day in `tz` (messaging.extensions.DailyFigures): broadcasts started, and their messages accepted by
    WhatsApp that day (`sent`), those of them delivered (or read) and read, by their status now. Two GROUP BYs."""
    campaigns = campaign_list(org=org, number_ids=number_ids)
    started = per_day(campaigns, field="started_at", since=since, until=until, tz=tz, counts={"started": Count("id")})
    recipients = CampaignRecipient.objects.for_org(org).filter(campaign__in=campaigns.values("pk"))
    statuses = CampaignRecipient.Status
    sent = per_day(
        recipients,
        field="sent_at",
        since=since,
        until=until,
        tz=tz,
        counts={
            "sent": Count("id", filter=Q(status__in=(statuses.SENT, statuses.DELIVERED, statuses.READ))),
            "delivered": Count("id", filter=Q(status__in=(statuses.DELIVERED, statuses.READ))),
            "read": Count("id", filter=Q(status=statuses.READ)),
        },
    )
    return {day: {**started.get(day, {}), **sent.get(day, {})} for day in started.keys() | sent.keys()}


def recipient_log(*, campaign: Campaign) -> QuerySet[CampaignRecipient]:
    """A campaign's recipients in id order, with what the log shows (contact, message)."""
    return (
        CampaignRecipient.objects.for_org(campaign.organization)
        .filter(campaign=campaign)
        .select_related("contact", "message")
        .only(
            "id",
            "campaign_id",
            "phone",
            "status",
            "error_code",
            "error_title",
            "sent_at",
            "replied_at",
            "contact__id",
            "contact__name",
            "contact__profile_name",
            "contact__phone",
            "contact__wa_id",
            "message__id",
            "message__provider_message_id",
        )
        .order_by("id")
    )


def audience_preview(*, campaign: Campaign, sample: int = PREVIEW_SAMPLE) -> dict:
    """For an unsaved (or draft) campaign: how many contacts its audience has, how many it would send to, why the
    others would be skipped (counts by reason), and the first `sample` messages as they would read."""
    verdicts: Iterator = audience_verdicts(campaign=campaign, contacts=audience_contacts(campaign=campaign).iterator())
    skipped: Counter = Counter()
    total, shown = 0, []
    for contact, reason in verdicts:
        total += 1
        if reason:
            skipped[reason] += 1
            continue
        if len(shown) < sample:
            values = campaign_values(campaign=campaign, contact=contact)
            try:
                preview, error = rendering.render(campaign.template, values).preview, ""
            except ServiceError as refused:
                preview, error = "", refused.detail
            shown.append(
                {
                    "contact_id": contact.pk,
                    "contact_name": contact.display_name,
                    "contact_number": contact.phone,
                    "preview": preview,
                    "error": error,
                }
            )
    return {
        "total": total,
        "count": total - sum(skipped.values()),
        "skipped": [{"reason": reason, "count": count} for reason, count in skipped.most_common()],
        "sample": shown,
    }


def running_campaigns() -> list[tuple[int, int, int, datetime | None]]:
    """Platform-wide, for operators (ids and rates only): every running campaign's (id, number id, the number's
    throughput, started_at). Reads the partial index of running campaigns."""
    return list(
        Campaign.objects.filter(status=Campaign.Status.RUNNING)
        .order_by("pk")
        .values_list("pk", "number_id", "number__throughput", "started_at")
    )
