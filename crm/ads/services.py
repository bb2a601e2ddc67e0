"""Ad registry writes: the referrals of stored inbound messages recorded, their ads upserted."""

from datetime import timedelta

from django.db import transaction
from django.db.models import OuterRef, Subquery

from crm.ads.models import Ad, AdReferral
from messaging.models import Conversation, Message

# A contact "created by" a referral message was inserted by the ingest batch that stored the message: moments before
# it (the batch writes contacts first). Generous: a batch takes seconds.
SAME_INGEST = timedelta(minutes=5)
FIELD_LIMITS = {"headline": 500, "body": 5000, "media_type": 16}
BACKFILL_CHUNK = 500


def _text(value, limit: int) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def _url(value) -> str:
    """Only web addresses are kept (they are shown as links and images)."""
    text = _text(value, 2000)
    return text if text.startswith(("https://", "http://")) else ""


def _ad_fields(referral: dict) -> dict:
    """The creative of a referral (Meta's `referral` object: headline, body, media_type, image_url or video_url,
    thumbnail_url, source_url)."""
    fields = {name: _text(referral.get(name), limit) for name, limit in FIELD_LIMITS.items()}
    fields["source_url"] = _url(referral.get("source_url"))
    fields["media_url"] = _url(referral.get("image_url") or referral.get("video_url"))
    fields["thumbnail_url"] = _url(referral.get("thumbnail_url"))
    return fields


def _source(referral: dict) -> tuple[str, str] | None:
    source_id = referral.get("source_id")
    if isinstance(source_id, int) and not isinstance(source_id, bool):
        source_id = str(source_id)
    source_id = _text(source_id, 64)
    if not source_id:
        return None
    source_type = referral.get("source_type")
    return (source_type if source_type in Ad.SourceType.values else Ad.SourceType.UNKNOWN), source_id


def _referral_messages(organization_id: int, message_ids: list[int]):
    """The inbound messages among `message_ids` that carry a referral, with what decides whether they started their
    conversation and created their contact (subqueries: one query whatever the batch's size)."""
    first_inbound = (
        Message.objects.filter(conversation_id=OuterRef("conversation_id"), direction=Message.Direction.INBOUND)
        .order_by("id")
        .values("id")[:1]
    )
    contact_conversations = Conversation.objects.filter(contact_id=OuterRef(OuterRef("conversation__contact_id")))
    first_of_contact = (
        Message.objects.filter(conversation_id__in=contact_conversations.values("id")).order_by("id").values("id")[:1]
    )
    return (
        Message.objects.filter(
            organization_id=organization_id,
            pk__in=message_ids,
            direction=Message.Direction.INBOUND,
            referral__isnull=False,
        )
        .annotate(first_inbound_id=Subquery(first_inbound), first_of_contact_id=Subquery(first_of_contact))
        .order_by("id")
        .values(
            "id",
            "conversation_id",
            "conversation__contact_id",
            "conversation__contact__created_at",
            "created_at",
            "referral",
            "first_inbound_id",
            "first_of_contact_id",
        )
    )


@transaction.atomic
def ad_referrals_record(*, organization_id: int, message_ids: list[int]) -> int:
    """Record the referrals of these inbound messages (ids of one organization): their ads upserted (first and last
    seen widened, the creative of the latest referral kept), one AdReferral per message. Idempotent: a message
    recorded already is skipped, so a replay or the backfill changes nothing. Returns the referrals new here."""
    found = [row for row in _referral_messages(organization_id, message_ids) if isinstance(row["referral"], dict)]
    sources = {row["id"]: _source(row["referral"]) for row in found}
    found = [row for row in found if sources[row["id"]] is not None]
    if not found:
        return 0
    seen: dict[tuple[str, str], dict] = {}
    for row in found:  # the batch's rows, in id (time) order: the last one's creative wins
        entry = seen.setdefault(sources[row["id"]], {"first": row["created_at"]})
        entry.update(last=row["created_at"], fields=_ad_fields(row["referral"]))
    Ad.objects.bulk_create(
        [
            Ad(
                organization_id=organization_id,
                source_type=source_type,
                source_id=source_id,
                first_seen_at=entry["first"],
                last_seen_at=entry["last"],
                **entry["fields"],
            )
            for (source_type, source_id), entry in seen.items()
        ],
        ignore_conflicts=True,
    )
    ads = {
        (ad.source_type, ad.source_id): ad
        for ad in Ad.objects.filter(organization_id=organization_id, source_id__in={key[1] for key in seen})
        .select_for_update()
        .order_by("id")
        if (ad.source_type, ad.source_id) in seen
    }
    for key, entry in seen.items():
        ad = ads[key]
        ad.first_seen_at = min(ad.first_seen_at, entry["first"])
        if entry["last"] >= ad.last_seen_at:
            ad.last_seen_at = entry["last"]
            for name, value in entry["fields"].items():
                setattr(ad, name, value)
    Ad.objects.bulk_update(
        list(ads.values()), ["first_seen_at", "last_seen_at", "source_url", "media_url", "thumbnail_url", *FIELD_LIMITS]
    )
    recorded = AdReferral.objects.filter(message_id__in=[row["id"] for row in found]).values_list("message_id")
    recorded_ids = {message_id for (message_id,) in recorded}
    found = [row for row in found if row["id"] not in recorded_ids]
    AdReferral.objects.bulk_create(
        [
            AdReferral(
                organization_id=organization_id,
                ad=ads[sources[row["id"]]],
                message_id=row["id"],
                conversation_id=row["conversation_id"],
                contact_id=row["conversation__contact_id"],
                ctwa_clid=_text(row["referral"].get("ctwa_clid"), 500),
                at=row["created_at"],
                starts_conversation=row["first_inbound_id"] == row["id"],
                new_contact=row["first_of_contact_id"] == row["id"]
                and row["conversation__contact__created_at"] >= row["created_at"] - SAME_INGEST,
            )
            for row in found
        ],
        ignore_conflicts=True,  # a concurrent run recorded it meanwhile
    )
    return len(found)


def on_referral_received(*, organization_id: int, message_ids: list[int], **_) -> None:
    """messaging.hooks.referral_received: after the ingest's commit."""
    ad_referrals_record(organization_id=organization_id, message_ids=message_ids)


def ad_referrals_backfill(*, organization_id: int | None = None) -> int:
    """Record the referrals stored before the registry existed (or missed): every inbound message carrying one, in
    chunks of one transaction each. Idempotent. Returns the referrals recorded."""
    messages = Message.objects.filter(direction=Message.Direction.INBOUND, referral__isnull=False)
    if organization_id is not None:
        messages = messages.filter(organization_id=organization_id)
    recorded = 0
    last_id = 0
    while True:
        chunk = list(
            messages.filter(pk__gt=last_id).order_by("id").values_list("id", "organization_id")[:BACKFILL_CHUNK]
        )
        if not chunk:
            return recorded
        last_id = chunk[-1][0]
        by_org: dict[int, list[int]] = {}
        for message_id, org_id in chunk:
            by_org.setdefault(org_id, []).append(message_id)
        for org_id, ids in sorted(by_org.items()):
            recorded += ad_referrals_record(organization_id=org_id, message_ids=ids)
