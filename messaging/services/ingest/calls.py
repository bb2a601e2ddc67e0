"""Writing a batch's call events: one row per call, unique on (organization, provider_call_id).

A call's events (Meta: connect, then terminate; WAHA: received, then accepted or rejected) may come in one batch, in
several, out of order, twice: each is folded into the call's row by `merged`, which only moves a call forward (its
status along Call.STATUS_RANK, its start to the earliest seen, its end and duration once known), so a redelivered or
replayed event changes nothing, and nothing is pushed for it. The contacts and conversations are the messages'
(writers.py upserts them first); the calls' new and changed rows are pushed to the live inbox after commit as
`call.created` / `call.updated`, `{"calls": [...]}` in the API's shape.
"""

from dataclasses import replace

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Organization
from messaging import realtime
from messaging.models import Call, Conversation
from messaging.selectors.calls import call_list
from messaging.serializers.calls import CallSerializer
from messaging.services.ingest import rows
from messaging.services.ingest.batch import CallEvent
from whatsapp_hub.aftercommit import run_after_commit

RANK = Call.STATUS_RANK
# What a call's row is written with on insert (the rest: the organization, the times), and what a later event changes.
INSERT_FIELDS = (
    "number_id",
    "contact_id",
    "conversation_id",
    "provider_call_id",
    "direction",
    "status",
    "is_video",
    "started_at",
    "ended_at",
    "duration",
    "error_code",
    "error_title",
    "payload",
)
UPDATE_FIELDS = ("status", "is_video", "started_at", "ended_at", "duration", "error_code", "error_title", "payload")


def merged(current: CallEvent, new: CallEvent) -> CallEvent:
    """`current` with what `new` adds: a later status (its end, duration, error and payload with it), an earlier
    start, an end or duration not known yet. The same event twice, or an older one, changes nothing."""
    result = replace(current)
    if RANK[new.status] > RANK[current.status]:
        result.status, result.payload = new.status, new.payload
        result.ended_at, result.duration = new.ended_at or current.ended_at, new.duration
        result.error_code, result.error_title = new.error_code, new.error_title
    elif RANK[new.status] == RANK[current.status]:
        result.ended_at = current.ended_at or new.ended_at
        result.duration = current.duration if current.duration is not None else new.duration
    result.timestamp = min(current.timestamp, new.timestamp)
    result.is_video = current.is_video or new.is_video
    return result


def _as_event(call: Call) -> CallEvent:
    return CallEvent(
        number_id=call.number_id,
        wa_id=None,
        user_id=None,
        profile_name="",
        provider_call_id=call.provider_call_id,
        direction=call.direction,
        status=call.status,
        timestamp=call.started_at,
        payload=call.payload,
        is_video=call.is_video,
        ended_at=call.ended_at,
        duration=call.duration,
        error_code=call.error_code,
        error_title=call.error_title,
        contact_id=call.contact_id,
    )


def _values(event: CallEvent, fields: tuple[str, ...]) -> tuple:
    named = {
        "status": event.status,
        "is_video": event.is_video,
        "started_at": event.timestamp,
        "ended_at": event.ended_at,
        "duration": event.duration,
        "error_code": event.error_code,
        "error_title": event.error_title,
        "payload": event.payload,
    }
    return tuple(named[name] for name in fields)


def calls_store(
    organization: Organization, events: list[CallEvent], conversations: dict[tuple[int, int], Conversation]
) -> None:
    """Insert the calls not stored yet and move the stored ones forward; the contacts of `events` are set and their
    `conversations` (by (number id, contact id)) locked by the caller. Must run inside the batch's transaction. A fixed
    number of queries whatever the number of calls; the pushes go after commit."""
    folded: dict[str, CallEvent] = {}
    for event in sorted(events, key=lambda event: (event.timestamp, RANK[event.status])):
        seen = folded.get(event.provider_call_id)
        folded[event.provider_call_id] = event if seen is None else merged(seen, event)
    now = timezone.now()
    # A call stored already (or by a worker racing with this one: the insert waits for it) is skipped here.
    inserted = dict(
        rows.insert(
            Call,
            INSERT_FIELDS,
            [
                (
                    event.number_id,
                    event.contact_id,
                    conversations[(event.number_id, event.contact_id)].pk,
                    event.provider_call_id,
                    event.direction,
                    *_values(event, INSERT_FIELDS[5:]),
                )
                for event in folded.values()
            ],
            constants={"organization_id": organization.pk, "created_at": now, "updated_at": now},
            conflict=["organization", "provider_call_id"],
            returning=["provider_call_id", "id"],
        )
    )
    stored = (
        Call.objects.for_org(organization)
        .filter(provider_call_id__in=[call_id for call_id in folded if call_id not in inserted])
        .select_for_update()
        .order_by("id")
    )
    changed = []
    for call in stored:
        before = _as_event(call)
        after = merged(before, folded[call.provider_call_id])
        if after != before:
            changed.append((call.pk, *_values(after, UPDATE_FIELDS), now))
    if changed:
        rows.update(Call, ["id", *UPDATE_FIELDS, "updated_at"], changed)
    _publish_on_commit(organization.pk, created=sorted(inserted.values()), updated=[row[0] for row in changed])


def _publish_on_commit(organization_id: int, *, created: list[int], updated: list[int]) -> None:
    if not (created or updated):
        return

    def publish() -> None:
        calls: QuerySet[Call] = call_list(org=Organization(pk=organization_id)).filter(pk__in=created + updated)
        by_id = {call.pk: call for call in calls}
        events: list[realtime.Event] = []
        for kind, ids in (("call.created", created), ("call.updated", updated)):
            shown = [by_id[pk] for pk in ids if pk in by_id]
            if shown:
                events.append((kind, {"calls": CallSerializer(shown, many=True).data}, [c.number_id for c in shown]))
        realtime.publish(organization_id, events)

    run_after_commit(publish)
