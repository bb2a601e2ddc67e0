"""Inbound webhooks, exactly once: store the raw event before the 200, ingest claimed batches after commit.

Receiving (the view's hot path, no parsing of messages): `webhook_event_store` inserts the verified raw event
(the same bytes twice, or the same WAHA request id, are one row) and, after commit, `webhook_events_schedule`
queues the processor unless one is queued or running already (a flag in the cache).

Processing (a Celery task): `webhook_events_drain` claims batches of pending events (`FOR UPDATE SKIP
LOCKED`), ingests each batch in one transaction with bulk writes (a fixed number of queries per batch and
organization, whatever the number of messages), and publishes / calls the hooks after commit. A batch that
raises is retried event by event, so only a poison event fails; it is retried by the sweeper and goes to the
dead letter after WebhookEvent.MAX_ATTEMPTS failures (`webhook_events_replay` brings it back).

Idempotency: a message is unique on (organization, provider_message_id) and conversations are locked before
the existing messages are read, so a redelivery, or two workers racing on the same conversation, adds
nothing twice (unread counts stay exact); a status only moves forward along Message.STATUS_RANK.
"""

import hashlib
import json
import logging
import time
import traceback
from collections import defaultdict
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import Case, Q, QuerySet, Value, When
from django.utils import timezone

from accounts.models import Organization

# messaging.tasks first: its modules import services (tasks/__init__ loads them all), never the reverse order.
from messaging import hooks, tasks
from messaging.models import Contact, Conversation, Media, Message, WebhookEvent, WhatsAppNumber
from messaging.phones import e164_from_wa_id
from messaging.services import events
from messaging.services import media as media_services
from messaging.services.contacts import contact_set_opted_out, opt_keyword
from messaging.services.numbers import number_session_status_record

logger = logging.getLogger(__name__)

WEBHOOK_MAX_BYTES = 3 * 1024 * 1024  # Meta: "Webhook payloads can be up to 3 MB."
BATCH_SIZE = 200
# A task run handles at most this many batches, then hands over to a fresh task (keeps runs short).
MAX_BATCHES_PER_RUN = 50
# How long a worker waits after a small batch before claiming the next (seconds): the delay added to the
# inbox, traded for batches that fill up under load (a batch has a fixed cost of some 15 ms; at 0.25 s,
# bench/webhook_ingest.py persisted ~4 % more per second than at 0.1 s, with a lower ack p99).
BATCH_LINGER = 0.25
# Pending, failed or processing for longer than this: the sweeper queues the event again.
STALE_AFTER = timedelta(minutes=1)
SCHEDULED_KEY = "messaging:ingest:scheduled"
# Set while a processor is queued or running. Longer than a queued task usually waits; if the task is lost
# (or its worker dies), the flag expires and the next webhook queues a new one (the sweeper too).
SCHEDULED_TTL = 30
LAST_ERROR_MAX = 4000

Status = Message.Status
Type = Message.Type
EventStatus = WebhookEvent.Status

TEMPLATE_FIELDS = frozenset(
    {
        "message_template_status_update",
        "message_template_quality_update",
        "message_template_components_update",
        "template_category_update",
    }
)
META_STATUSES = {
    "sent": Status.SENT,
    "delivered": Status.DELIVERED,
    "read": Status.READ,
    "played": Status.READ,  # a voice message listened to
    "failed": Status.FAILED,
}
# What every send puts in Meta's `biz_opaque_callback_data` (followed by our message id): see delivery.
CALLBACK_PREFIX = "msg:"
# WAHA's WAMessageAck: -1 ERROR, 0 PENDING, 1 SERVER, 2 DEVICE, 3 READ, 4 PLAYED.
WAHA_ACKS = {-1: Status.FAILED, 0: Status.QUEUED, 1: Status.SENT, 2: Status.DELIVERED, 3: Status.READ, 4: Status.READ}
WAHA_TYPES = {
    "chat": Type.TEXT,
    "image": Type.IMAGE,
    "video": Type.VIDEO,
    "audio": Type.AUDIO,
    "ptt": Type.AUDIO,
    "document": Type.DOCUMENT,
    "sticker": Type.STICKER,
    "location": Type.LOCATION,
    "vcard": Type.CONTACTS,
    "multi_vcard": Type.CONTACTS,
}
WAHA_SESSION_STATUSES = frozenset(WhatsAppNumber.SessionStatus.values)
# WhatsApp chats that are not one person: no contact, no conversation.
WAHA_NOT_A_PERSON = ("@g.us", "@newsletter", "@broadcast")


# --- receiving -----------------------------------------------------------------------------------------


def body_dedupe_key(raw: bytes) -> str:
    """The dedupe key of a raw webhook body: Meta redelivers the identical bytes."""
    return hashlib.sha256(raw).hexdigest()


def webhook_event_store(
    *, organization_id: int, source: str, body: dict, dedupe_key: str, number_id: int | None = None
) -> None:
    """Persist a verified raw event (a second one with the same dedupe_key is ignored) and queue its
    processing after commit. Called outside a transaction (the webhook views), it is one statement committed
    on its own: the hot path of every webhook."""
    event = WebhookEvent(
        organization_id=organization_id, source=source, number_id=number_id, body=body, dedupe_key=dedupe_key
    )
    if _insert_unless_duplicate(event):
        transaction.on_commit(webhook_events_schedule)


def _insert_unless_duplicate(event: WebhookEvent) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING; whether a row was added. The model's own INSERT costs twice the CPU
    (its compiler; bulk_create's ignore_conflicts adds BEGIN and COMMIT round trips), and this path runs for
    every webhook."""
    connection = transaction.get_connection()
    fields = [field for field in WebhookEvent._meta.concrete_fields if not field.primary_key]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    table = connection.ops.quote_name(WebhookEvent._meta.db_table)
    values = ", ".join(["%s"] * len(fields))
    params = [field.get_db_prep_save(field.pre_save(event, add=True), connection) for field in fields]
    with connection.cursor() as cursor:
        # Identifiers from the model, values as parameters.
        cursor.execute(f"INSERT INTO {table} ({columns}) VALUES ({values}) ON CONFLICT DO NOTHING", params)  # noqa: S608
        return cursor.rowcount == 1


def sandbox_webhook_store(*, number: WhatsAppNumber, payload: dict) -> None:
    """Store a webhook the sandbox made up for `number` as the webhook view stores Meta's (the same payload twice
    is one event); it is ingested after commit."""
    webhook_event_store(
        organization_id=number.organization_id,
        source=WebhookEvent.Source.SANDBOX,
        body=payload,
        dedupe_key=body_dedupe_key(json.dumps(payload, sort_keys=True).encode()),
        number_id=number.pk,
    )


def webhook_events_schedule() -> None:
    """Queue the processor unless one is queued or running (call after commit). Never raises: the event is
    committed, and if the cache or the broker is down the sweeper queues it within a minute."""
    try:
        if cache.add(SCHEDULED_KEY, 1, timeout=SCHEDULED_TTL):
            tasks.ingest.process_webhook_events.delay()
    except Exception:
        logger.exception("webhook processing not queued (or, inline, failed); the sweeper will retry")
        with suppress(Exception):
            cache.delete(SCHEDULED_KEY)


# --- the processor ------------------------------------------------------------------------------------


def webhook_events_drain(
    *, batch_size: int = BATCH_SIZE, max_batches: int = MAX_BATCHES_PER_RUN, linger: float = 0
) -> int:
    """Process pending events batch after batch until none is left; returns how many were claimed.

    While it runs, the "queued" flag stays set, so new events queue no other task: they wait for this
    one's next claim, and batches grow with the load instead of one tiny task per webhook. `linger`
    (seconds): after a batch smaller than `batch_size`, wait that long before the next claim, so batches
    fill up under load (each batch has a fixed cost: two transactions, the pushes); a worker lingers,
    an inline (eager) run does not. Once a claim finds nothing, the flag is cleared and the queue looked
    at once more: an event committed before the flag was cleared queued nothing, so it is this run's to
    take (unless a newer task is queued already)."""
    total = 0
    for _ in range(max_batches):
        claimed = webhook_events_process_batch(limit=batch_size)
        total += claimed
        if claimed == batch_size:
            continue
        if claimed and linger:
            time.sleep(linger)
            continue
        cache.delete(SCHEDULED_KEY)
        if not WebhookEvent.objects.filter(status=EventStatus.PENDING).exists():
            return total
        if not cache.add(SCHEDULED_KEY, 1, timeout=SCHEDULED_TTL):
            return total  # a task was queued meanwhile: it takes over
    cache.delete(SCHEDULED_KEY)
    webhook_events_schedule()  # more to do: a fresh task, so no run holds a worker for long
    return total


def webhook_events_process_batch(*, limit: int = BATCH_SIZE) -> int:
    """Claim up to `limit` pending events and ingest them in one transaction; returns how many were claimed.

    When the batch raises, each event is retried alone, so only the poison one ends failed (or dead)."""
    events = _claim(limit)
    if not events:
        return 0
    try:
        with transaction.atomic():
            _ingest(events)
    except Exception as exc:
        if len(events) == 1:
            _record_failure(events[0], exc)
            return 1
        logger.warning("webhook batch of %d events failed (%r); retrying them one by one", len(events), exc)
        for event in events:
            try:
                with transaction.atomic():
                    _ingest([event])
            except Exception as single_exc:
                _record_failure(event, single_exc)
    return len(events)


def _claim(limit: int) -> list[WebhookEvent]:
    """Move up to `limit` pending events, oldest first, to processing. Rows locked by another claimer are
    skipped (PostgreSQL); on SQLite, which has no row locks, writers are serialised and the update is
    conditional."""
    with transaction.atomic():
        events = list(
            WebhookEvent.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("organization")
            .filter(status=EventStatus.PENDING)
            .order_by("received_at", "id")[:limit]
        )
        if events:
            WebhookEvent.objects.filter(pk__in=[event.pk for event in events], status=EventStatus.PENDING).update(
                status=EventStatus.PROCESSING, claimed_at=timezone.now()
            )
    return events


def _record_failure(event: WebhookEvent, exc: BaseException) -> None:
    attempts = event.attempts + 1
    status = EventStatus.DEAD if attempts >= WebhookEvent.MAX_ATTEMPTS else EventStatus.FAILED
    logger.error("webhook event %s failed (attempt %d, now %s)", event.pk, attempts, status, exc_info=exc)
    text = "".join(traceback.format_exception(exc))
    WebhookEvent.objects.filter(pk=event.pk).update(
        status=status, attempts=attempts, last_error=text[-LAST_ERROR_MAX:], claimed_at=timezone.now()
    )


# --- sweeper and dead letters ----------------------------------------------------------------------------


def webhook_events_sweep(*, stale_after: timedelta = STALE_AFTER) -> int:
    """Queue again what should have been processed by now: events failed or stuck in processing (a worker
    died) for longer than `stale_after` go back to pending, and the processor is queued when events have
    been pending that long (the broker may have been down). Returns how many events it revived."""
    stale = timezone.now() - stale_after
    revived = WebhookEvent.objects.filter(
        status__in=[EventStatus.FAILED, EventStatus.PROCESSING], claimed_at__lt=stale
    ).update(status=EventStatus.PENDING)
    waiting = WebhookEvent.objects.filter(status=EventStatus.PENDING, received_at__lt=stale).exists()
    if revived or waiting:
        # Directly, not through the "queued" flag: a flag whose task was lost must not hold things up.
        tasks.ingest.process_webhook_events.delay()
    return revived


@transaction.atomic
def webhook_events_replay(*, events: QuerySet[WebhookEvent]) -> int:
    """Put dead (or failed) events back to pending with a fresh count of attempts, and queue the
    processor after commit. Returns how many were replayed."""
    replayed = events.filter(status__in=[EventStatus.DEAD, EventStatus.FAILED]).update(
        status=EventStatus.PENDING, attempts=0, last_error="", claimed_at=None
    )
    if replayed:
        transaction.on_commit(webhook_events_schedule)
    return replayed


# --- parsing: events -> what to write -----------------------------------------------------------------


@dataclass
class _Item:
    """One message of the batch, as it will be stored."""

    number_id: int
    wa_id: str | None
    user_id: str | None
    profile_name: str
    provider_message_id: str
    direction: str
    type: str
    text: str
    payload: dict
    reply_to: str
    referral: dict | None
    timestamp: datetime
    status: str
    media: dict | None = None
    contact_id: int | None = None


@dataclass
class _StatusUpdate:
    provider_message_id: str
    status: str
    timestamp: datetime
    error_code: int | None = None
    error_title: str = ""
    message_id: int | None = None  # ours, from `biz_opaque_callback_data` ("msg:<id>", set on every send)


@dataclass
class _Batch:
    """One organization's share of a claimed batch."""

    organization: Organization
    items: list[_Item] = field(default_factory=list)
    statuses: list[_StatusUpdate] = field(default_factory=list)
    sessions: dict[int, tuple[str, dict | None]] = field(default_factory=dict)  # WAHA number id -> (status, me)
    template_events: list[tuple[str, dict]] = field(default_factory=list)  # (waba id, change value)
    notes: dict[int, list[str]] = field(default_factory=dict)  # event id -> what is kept in its last_error

    _numbers: dict[str, int] | None = None

    def number_id(self, phone_number_id: str) -> int | None:
        """The organization's live number with this phone_number_id (read once per batch, when needed)."""
        if self._numbers is None:
            self._numbers = dict(
                WhatsAppNumber.objects.for_org(self.organization)
                .live()
                .exclude(phone_number_id="")
                .values_list("phone_number_id", "id")
            )
        return self._numbers.get(phone_number_id)

    def note(self, event: WebhookEvent, text: str) -> None:
        logger.info("webhook event %s: %s", event.pk, text)
        self.notes.setdefault(event.pk, []).append(text)


def _datetime(value, *, default: datetime, milliseconds: bool = False) -> datetime:
    """A provider timestamp (Meta: a string of seconds; WAHA: a number) as an aware datetime."""
    try:
        seconds = float(value) / (1000 if milliseconds else 1)
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return default


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _str(value) -> str:
    return value if isinstance(value, str) else ""


def _meta_content(message: dict) -> tuple[str, str, dict | None]:
    """(type, text, media fields) of a Meta message object: every type is kept, unknown ones as unsupported."""
    kind = _str(message.get("type"))
    obj = _dict(message.get(kind))
    if kind == "text":
        return Type.TEXT, _str(obj.get("body")), None
    if kind in Message.MEDIA_TYPES:
        media = {
            "provider_media_id": _str(obj.get("id"))[:128],
            "mime_type": _str(obj.get("mime_type"))[:128],
            "sha256": _str(obj.get("sha256"))[:128],
            "filename": _str(obj.get("filename"))[:255],
        }
        return kind, _str(obj.get("caption")), media
    if kind == "location":
        return (
            Type.LOCATION,
            ", ".join(part for part in (_str(obj.get("name")), _str(obj.get("address"))) if part),
            None,
        )
    if kind == "contacts":
        cards = [_dict(card) for card in _list(message.get("contacts"))]
        names = [_str(_dict(card.get("name")).get("formatted_name")) for card in cards]
        return Type.CONTACTS, ", ".join(name for name in names if name), None
    if kind == "interactive":
        reply = _dict(obj.get(_str(obj.get("type"))))
        return Type.INTERACTIVE, _str(reply.get("title")) or _str(reply.get("body")), None
    if kind == "button":
        return Type.BUTTON, _str(obj.get("text")) or _str(obj.get("payload")), None
    if kind == "reaction":
        return Type.REACTION, _str(obj.get("emoji")), None
    # order, system, unsupported, and whatever Meta adds next: kept whole in the payload.
    return Type.UNSUPPORTED, _str(obj.get("body")) or _str(obj.get("text")), None


def _meta_change_messages(batch: _Batch, event: WebhookEvent, value: dict, number_id: int) -> None:
    profiles: dict[str, tuple[str, str | None]] = {}
    for contact in _list(value.get("contacts")):
        contact = _dict(contact)
        name = _str(_dict(contact.get("profile")).get("name"))
        wa_id, user_id = _str(contact.get("wa_id")) or None, _str(contact.get("user_id")) or None
        for key in (wa_id, user_id):
            if key:
                profiles[key] = (name, user_id)
    now = timezone.now()
    for message in _list(value.get("messages")):
        message = _dict(message)
        wamid = _str(message.get("id"))
        wa_id = _str(message.get("from")) or None
        name, user_id = profiles.get(wa_id or "") or profiles.get(_str(message.get("from_user_id")), ("", None))
        user_id = _str(message.get("from_user_id")) or user_id
        if not wamid or not (wa_id or user_id):
            batch.note(event, f"message without an id or a sender skipped: {str(message)[:200]}")
            continue
        kind, text, media = _meta_content(message)
        context = _dict(message.get("context"))
        reply_to = _str(context.get("id")) or _str(_dict(message.get("reaction")).get("message_id"))
        batch.items.append(
            _Item(
                number_id=number_id,
                wa_id=wa_id,
                user_id=user_id,
                profile_name=name[:200],
                provider_message_id=wamid[:255],
                direction=Message.Direction.INBOUND,
                type=kind,
                text=text,
                payload=message,
                reply_to=reply_to[:255],
                referral=message.get("referral") if isinstance(message.get("referral"), dict) else None,
                timestamp=_datetime(message.get("timestamp"), default=now),
                status=Status.RECEIVED,
                media=media,
            )
        )


def _meta_change_statuses(batch: _Batch, event: WebhookEvent, value: dict) -> None:
    now = timezone.now()
    for item in _list(value.get("statuses")):
        item = _dict(item)
        status = META_STATUSES.get(_str(item.get("status")))
        wamid = _str(item.get("id"))
        if status is None or not wamid:
            batch.note(event, f"status {item.get('status')!r} of {wamid!r} ignored")
            continue
        update = _StatusUpdate(wamid, status, _datetime(item.get("timestamp"), default=now))
        callback = _str(item.get("biz_opaque_callback_data"))
        if callback.startswith(CALLBACK_PREFIX) and callback[len(CALLBACK_PREFIX) :].isdigit():
            update.message_id = int(callback[len(CALLBACK_PREFIX) :])
        if status == Status.FAILED:
            error = _dict(next(iter(_list(item.get("errors"))), None))
            code = error.get("code")
            update.error_code = code if isinstance(code, int) else None
            update.error_title = (_str(error.get("title")) or _str(error.get("message")))[:500]
        batch.statuses.append(update)


def _parse_meta(batch: _Batch, event: WebhookEvent) -> None:
    """Meta's webhook (and the sandbox's, which has its shape)."""
    for entry in _list(_dict(event.body).get("entry")):
        entry = _dict(entry)
        for change in _list(entry.get("changes")):
            change = _dict(change)
            kind, value = _str(change.get("field")), _dict(change.get("value"))
            if kind in TEMPLATE_FIELDS:
                batch.template_events.append((str(entry.get("id", "")), value))
                continue
            if kind != "messages":
                batch.note(event, f"field {kind!r} not handled")
                continue
            for error in _list(value.get("errors")):
                error = _dict(error)
                batch.note(
                    event, f"Meta reported error {error.get('code')}: {error.get('title') or error.get('message')}"
                )
            if value.get("statuses"):
                _meta_change_statuses(batch, event, value)
            if value.get("messages"):
                phone_number_id = _str(_dict(value.get("metadata")).get("phone_number_id"))
                number_id = batch.number_id(phone_number_id) or event.number_id
                if number_id is None:
                    batch.note(event, f"messages for unknown phone_number_id {phone_number_id!r} skipped")
                    continue
                _meta_change_messages(batch, event, value, number_id)


def _waha_chat(chat_id: str) -> tuple[str | None, str | None]:
    """(wa_id, user_id) of a one-to-one WAHA chat id: `<digits>@c.us` (or `@s.whatsapp.net`), `<id>@lid`."""
    if chat_id.endswith("@lid"):
        return None, chat_id
    if chat_id.endswith(("@c.us", "@s.whatsapp.net")):
        digits = chat_id.split("@", 1)[0]
        return (digits, None) if digits.isdigit() else (None, None)
    return None, None


def _waha_type(payload: dict) -> str:
    kind = _str(_dict(payload.get("_data")).get("type"))
    if kind:
        return WAHA_TYPES.get(kind, Type.UNSUPPORTED)
    if payload.get("hasMedia"):
        major = _str(_dict(payload.get("media")).get("mimetype")).split("/", 1)[0]
        return {"image": Type.IMAGE, "video": Type.VIDEO, "audio": Type.AUDIO}.get(major, Type.DOCUMENT)
    return Type.TEXT if _str(payload.get("body")) else Type.UNSUPPORTED


def _parse_waha_message(batch: _Batch, event: WebhookEvent, envelope: dict, received: datetime) -> None:
    payload = _dict(envelope.get("payload"))
    from_me = bool(payload.get("fromMe"))
    if from_me and payload.get("source") == "api":
        return  # sent through the hub: the message exists (or is being sent); its acks update it
    wamid = payload.get("id")
    wamid = _str(_dict(wamid).get("_serialized")) if isinstance(wamid, dict) else _str(wamid)
    chat = _str(payload.get("to") if from_me else payload.get("from"))
    wa_id, user_id = _waha_chat(chat)
    if not wamid or not (wa_id or user_id):
        reason = "a group, channel or broadcast" if chat.endswith(WAHA_NOT_A_PERSON) else "no id or sender"
        batch.note(event, f"WAHA message {wamid!r} in {chat!r} skipped ({reason})")
        return
    data = _dict(payload.get("_data"))
    reaction = _dict(payload.get("reaction"))
    if envelope.get("event") == "message.reaction":
        kind, text, reply_to = Type.REACTION, _str(reaction.get("text")), _str(reaction.get("messageId"))
    else:
        kind, text = _waha_type(payload), _str(payload.get("body"))
        reply_to = _str(_dict(payload.get("replyTo")).get("id"))
    media = None
    if kind in Message.MEDIA_TYPES:
        info = _dict(payload.get("media"))
        # WAHA media are fetched by URL (kept in the payload), not by a media id.
        media = {
            "provider_media_id": "",
            "mime_type": _str(info.get("mimetype"))[:128],
            "sha256": "",
            "filename": _str(info.get("filename"))[:255],
        }
    if from_me:
        status = WAHA_ACKS.get(payload.get("ack"), Status.SENT)
        status = Status.SENT if status == Status.QUEUED else status
    else:
        status = Status.RECEIVED
    batch.items.append(
        _Item(
            number_id=event.number_id,
            wa_id=wa_id,
            user_id=user_id,
            profile_name="" if from_me else (_str(data.get("notifyName")) or _str(data.get("pushName")))[:200],
            provider_message_id=wamid[:255],
            direction=Message.Direction.OUTBOUND if from_me else Message.Direction.INBOUND,
            type=kind,
            text=text,
            payload=payload,
            reply_to=reply_to[:255],
            referral=None,
            timestamp=_datetime(payload.get("timestamp"), default=received),
            status=status,
            media=media,
        )
    )


def _parse_waha(batch: _Batch, event: WebhookEvent) -> None:
    envelope = _dict(event.body)
    kind = _str(envelope.get("event"))
    payload = _dict(envelope.get("payload"))
    received = _datetime(envelope.get("timestamp"), default=timezone.now(), milliseconds=True)
    if event.number_id is None:
        batch.note(event, "WAHA event without its number skipped")
    elif kind in ("message", "message.any", "message.reaction"):
        _parse_waha_message(batch, event, envelope, received)
    elif kind == "message.ack":
        status = WAHA_ACKS.get(payload.get("ack"))
        wamid = _str(payload.get("id"))
        if status is None or not wamid:
            batch.note(event, f"ack {payload.get('ack')!r} of {wamid!r} ignored")
            return
        update = _StatusUpdate(wamid, status, received)
        if status == Status.FAILED:
            update.error_title = "WAHA could not deliver the message (ack -1, ERROR)."
        batch.statuses.append(update)
    elif kind == "session.status":
        status = _str(payload.get("status"))
        if status in WAHA_SESSION_STATUSES:
            me = envelope.get("me")
            batch.sessions[event.number_id] = (status, me if isinstance(me, dict) else None)
        else:
            batch.note(event, f"session status {status!r} not tracked")
    else:
        batch.note(event, f"WAHA event {kind!r} not handled")


# --- writing one organization's batch --------------------------------------------------------------------


def _ingest(events: list[WebhookEvent]) -> None:
    """Ingest claimed events and mark them processed. Must run inside a transaction (all or nothing)."""
    by_org: dict[int, list[WebhookEvent]] = defaultdict(list)
    for event in events:
        by_org[event.organization_id].append(event)
    notes: dict[int, list[str]] = {}
    for organization_id in sorted(by_org):
        org_events = by_org[organization_id]
        notes.update(_ingest_organization(org_events[0].organization, org_events))
    now = timezone.now()
    WebhookEvent.objects.filter(pk__in=[event.pk for event in events if event.pk not in notes]).update(
        status=EventStatus.PROCESSED, processed_at=now, last_error=""
    )
    for event_id, lines in notes.items():
        WebhookEvent.objects.filter(pk=event_id).update(
            status=EventStatus.PROCESSED, processed_at=now, last_error="\n".join(lines)[:LAST_ERROR_MAX]
        )


def _ingest_organization(organization: Organization, events: list[WebhookEvent]) -> dict[int, list[str]]:
    """Ingest one organization's events of the batch; returns the notes to keep on events."""
    batch = _Batch(organization=organization)
    for event in events:
        if event.source == WebhookEvent.Source.WAHA:
            _parse_waha(batch, event)
        else:
            _parse_meta(batch, event)

    created: list[Message] = []
    conversations: list[Conversation] = []
    updated: list[Message] = []
    if batch.items:
        contacts = _upsert_contacts(organization, batch.items)
        created, conversations, updated = _store_messages(organization, batch.items)
        _apply_opt_keywords(organization, created, conversations)
        _load_for_push(organization, conversations, contacts)
    status_changes = _apply_statuses(organization, batch.statuses) if batch.statuses else []
    if batch.sessions:
        for number in WhatsAppNumber.objects.for_org(organization).filter(pk__in=list(batch.sessions)):
            status, me = batch.sessions[number.pk]
            number_session_status_record(number=number, status=status, me=me)
    for waba_id, value in batch.template_events:
        hooks.template_status_changed.send_on_commit(organization_id=organization.pk, waba_id=waba_id, event=value)
    _announce(organization, created=created, updated=updated, conversations=conversations, changes=status_changes)
    return batch.notes


def _upsert_contacts(organization: Organization, items: list[_Item]) -> dict[int, Contact]:
    """One row per sender, keyed on wa_id (or on Meta's user_id when the phone is withheld); sets
    item.contact_id and returns the contacts by id (as the inbox shows them). One read and two bulk upserts,
    whatever the number of senders."""
    # A sender seen with its phone elsewhere in the batch is keyed on the phone.
    key_of_user = {item.user_id: ("wa_id", item.wa_id) for item in items if item.wa_id and item.user_id}

    def key(item: _Item) -> tuple[str, str]:
        return ("wa_id", item.wa_id) if item.wa_id else key_of_user.get(item.user_id, ("user_id", item.user_id))

    wanted: dict[tuple[str, str], dict] = {}
    for item in sorted(items, key=lambda item: item.timestamp):
        entry = wanted.setdefault(
            key(item), {"wa_id": item.wa_id, "user_id": None, "profile_name": "", "inbound": None}
        )
        entry["user_id"] = item.user_id or entry["user_id"]
        entry["profile_name"] = item.profile_name or entry["profile_name"]
        if item.direction == Message.Direction.INBOUND:
            entry["inbound"] = item.timestamp
    wa_ids = [entry["wa_id"] for entry in wanted.values() if entry["wa_id"]]
    user_ids = [entry["user_id"] for entry in wanted.values() if entry["user_id"]]
    existing = list(Contact.objects.for_org(organization).filter(Q(wa_id__in=wa_ids) | Q(user_id__in=user_ids)))
    by_wa_id = {contact.wa_id: contact for contact in existing if contact.wa_id}
    by_user_id = {contact.user_id: contact for contact in existing if contact.user_id}

    on_wa_id: dict[tuple[str, str], Contact] = {}
    on_user_id: dict[tuple[str, str], Contact] = {}
    for entry_key, entry in sorted(wanted.items()):
        wa_id, user_id = entry["wa_id"], entry["user_id"]
        current = by_wa_id.get(wa_id) if wa_id else None
        owner = by_user_id.get(user_id) if user_id else None
        if current is None and owner is not None and (owner.wa_id is None or wa_id is None):
            # Known by user_id until now (its phone was withheld), or withheld now: that contact.
            current, group, wa_id = owner, on_user_id, wa_id or owner.wa_id
        else:
            group = on_wa_id if wa_id else on_user_id
            if owner is not None and owner is not current:
                user_id = None  # another contact has this user_id: never steal it
        latest = max((t for t in (entry["inbound"], current and current.last_inbound_at) if t), default=None)
        group[entry_key] = Contact(
            organization=organization,
            wa_id=wa_id,
            user_id=(current.user_id if current else None) or user_id,
            phone=current.phone if current and current.wa_id == wa_id else (e164_from_wa_id(wa_id) if wa_id else ""),
            profile_name=entry["profile_name"] or (current.profile_name if current else ""),
            last_inbound_at=latest,
            name=current.name if current else "",  # not written: the name we gave them, for the pushes
        )
    common = ["profile_name", "last_inbound_at", "updated_at"]
    if on_wa_id:
        Contact.objects.bulk_create(
            list(on_wa_id.values()),
            update_conflicts=True,
            unique_fields=["organization", "wa_id"],
            update_fields=["user_id", *common],
        )
    if on_user_id:
        Contact.objects.bulk_create(
            list(on_user_id.values()),
            update_conflicts=True,
            unique_fields=["organization", "user_id"],
            update_fields=["wa_id", "phone", *common],
        )
    ids = {entry_key: contact.pk for entry_key, contact in (on_wa_id | on_user_id).items()}
    for item in items:
        item.contact_id = ids[key(item)]
    return {contact.pk: contact for contact in (on_wa_id | on_user_id).values()}


def _preview(message: Message) -> str:
    return (message.text or Type(message.type).label)[:200]


def _lock_conversations(organization: Organization, items: list[_Item]) -> dict[tuple[int, int], Conversation]:
    """The conversation of each (number, contact) of the batch, created when missing, locked until the batch
    commits (FOR UPDATE, in id order: no deadlock between workers). The caller reads which messages exist
    after this, so two workers holding the same message cannot both count it."""
    newest: dict[tuple[int, int], datetime] = {}
    for item in items:
        pair = (item.number_id, item.contact_id)
        newest[pair] = max(newest.get(pair, item.timestamp), item.timestamp)

    def locked(pairs: set[tuple[int, int]]) -> dict[tuple[int, int], Conversation]:
        rows = (
            Conversation.objects.for_org(organization)
            .filter(number_id__in={pair[0] for pair in pairs}, contact_id__in={pair[1] for pair in pairs})
            .select_for_update()
            .order_by("id")
        )
        return {(row.number_id, row.contact_id): row for row in rows if (row.number_id, row.contact_id) in pairs}

    conversations = locked(set(newest))
    missing = sorted(set(newest) - set(conversations))
    if missing:
        Conversation.objects.bulk_create(
            [
                Conversation(
                    organization=organization,
                    number_id=number_id,
                    contact_id=contact_id,
                    last_message_at=newest[(number_id, contact_id)],
                )
                for number_id, contact_id in missing
            ],
            ignore_conflicts=True,
        )
        conversations |= locked(set(missing))
    return conversations


def _store_messages(
    organization: Organization, items: list[_Item]
) -> tuple[list[Message], list[Conversation], list[Message]]:
    """Insert the messages not stored yet and update their conversations (reopened when closed, unread
    counts, last message, 24-hour window). Returns (new messages, their conversations, reactions changed
    in place). A fixed number of queries per batch."""
    conversations = _lock_conversations(organization, items)

    unique: dict[str, _Item] = {}
    for item in items:
        seen = unique.get(item.provider_message_id)
        # A reaction's add and removal may reuse one id: the latest counts.
        if seen is None or (item.type == Type.REACTION and item.timestamp > seen.timestamp):
            unique[item.provider_message_id] = item
    stored = {
        row["provider_message_id"]: row
        for row in Message.objects.for_org(organization)
        .filter(provider_message_id__in=list(unique))
        .values("id", "provider_message_id", "type", "provider_timestamp", "conversation_id")
    }
    updated = _update_reactions(
        organization, [item for item in unique.values() if item.provider_message_id in stored], stored
    )
    fresh = [item for item in unique.values() if item.provider_message_id not in stored]
    if not fresh:
        return [], [], updated

    messages = [
        Message(
            organization=organization,
            conversation_id=conversations[(item.number_id, item.contact_id)].pk,
            direction=item.direction,
            type=item.type,
            text=item.text,
            payload=item.payload,
            provider_message_id=item.provider_message_id,
            reply_to_provider_id=item.reply_to,
            referral=item.referral,
            status=item.status,
            provider_timestamp=item.timestamp,
        )
        for item in sorted(fresh, key=lambda item: item.timestamp)
    ]
    Message.objects.bulk_create(messages, ignore_conflicts=True)
    ids = dict(
        Message.objects.for_org(organization)
        .filter(provider_message_id__in=[m.provider_message_id for m in messages])
        .values_list("provider_message_id", "id")
    )
    for message in messages:
        message.pk = ids[message.provider_message_id]
    media = [
        Media(organization=organization, message_id=message.pk, **unique[message.provider_message_id].media)
        for message in messages
        if unique[message.provider_message_id].media is not None
    ]
    if media:
        Media.objects.bulk_create(media)
        media_services.enqueue_inbound_media([m.pk for m in media])
        by_id = {message.pk: message for message in messages}
        for item in media:
            by_id[item.message_id].media = item

    touched = _update_conversations(conversations, messages)
    return messages, touched, updated


def _load_for_push(organization: Organization, conversations: list[Conversation], contacts: dict[int, Contact]) -> None:
    """Give the batch's conversations their contact and number, as the inbox shows them (one query)."""
    numbers = WhatsAppNumber.objects.for_org(organization).filter(pk__in={c.number_id for c in conversations})
    number_of = {number.pk: number for number in numbers.only("id", "provider")}
    for conversation in conversations:
        conversation.contact = contacts[conversation.contact_id]
        conversation.number = number_of[conversation.number_id]


def _update_reactions(organization: Organization, items: list[_Item], stored: dict[str, dict]) -> list[Message]:
    """A later webhook for a stored reaction (changed or removed emoji) replaces it; anything else
    stored already is a duplicate and changes nothing."""
    updated = []
    for item in items:
        row = stored[item.provider_message_id]
        if item.type != Type.REACTION or row["type"] != Type.REACTION:
            continue
        changed = (
            Message.objects.for_org(organization)
            .filter(pk=row["id"], provider_timestamp__lt=item.timestamp)
            .update(text=item.text, payload=item.payload, provider_timestamp=item.timestamp)
        )
        if changed:
            updated.append(
                Message(
                    pk=row["id"],
                    conversation_id=row["conversation_id"],
                    direction=item.direction,
                    type=item.type,
                    text=item.text,
                    provider_message_id=item.provider_message_id,
                    status=item.status,
                    provider_timestamp=item.timestamp,
                )
            )
    return updated


def _update_conversations(
    conversations: dict[tuple[int, int], Conversation], messages: list[Message]
) -> list[Conversation]:
    """Apply new messages (sorted by time) to their locked conversations in one bulk update."""
    by_id = {conversation.pk: conversation for conversation in conversations.values()}
    added: dict[int, list[Message]] = defaultdict(list)
    for message in messages:
        added[message.conversation_id].append(message)
    touched = []
    for conversation_id, new in added.items():
        conversation = by_id[conversation_id]
        inbound = [m for m in new if m.direction == Message.Direction.INBOUND]
        last = new[-1]
        if inbound:
            if conversation.status == Conversation.Status.CLOSED:
                conversation.status = Conversation.Status.OPEN
            conversation.unread_count += len(inbound)
            newest_inbound = inbound[-1].provider_timestamp
            if conversation.last_inbound_at is None or newest_inbound > conversation.last_inbound_at:
                conversation.last_inbound_at = newest_inbound
        if last.provider_timestamp >= conversation.last_message_at:
            conversation.last_message_at = last.provider_timestamp
            conversation.last_message_preview = _preview(last)
            conversation.last_message_direction = last.direction
            conversation.last_message_type = last.type
        touched.append(conversation)
    # The rows exist and are locked: an upsert on their unique key is a bulk UPDATE in one plain statement
    # (bulk_update's CASE WHEN per row and field costs ~1 ms of Python per row).
    Conversation.objects.bulk_create(
        sorted(touched, key=lambda conversation: conversation.pk),
        update_conflicts=True,
        unique_fields=["organization", "number", "contact"],
        update_fields=[
            "status",
            "unread_count",
            "last_inbound_at",
            "last_message_at",
            "last_message_preview",
            "last_message_direction",
            "last_message_type",
        ],
    )
    return touched


def _apply_opt_keywords(organization: Organization, messages: list[Message], conversations: list[Conversation]) -> None:
    """A text that is exactly an opt-out word (STOP, إيقاف, ...) opts its sender out, an opt-in word
    (START) back in; a sender's last such message in the batch wins."""
    contact_of = {conversation.pk: conversation.contact_id for conversation in conversations}
    decisions: dict[int, bool] = {}
    for message in messages:  # in time order
        if message.direction == Message.Direction.INBOUND and message.type == Type.TEXT:
            opted_out = opt_keyword(organization=organization, text=message.text)
            if opted_out is not None:
                decisions[contact_of[message.conversation_id]] = opted_out
    if decisions:
        for contact in Contact.objects.for_org(organization).filter(pk__in=list(decisions)):
            contact.organization = organization
            contact_set_opted_out(contact=contact, opted_out=decisions[contact.pk], source="inbound")


def _apply_statuses(organization: Organization, updates: list[_StatusUpdate]) -> list[tuple[int, str, int | None]]:
    """Move outbound messages forward along Message.STATUS_RANK (sent -> delivered -> read; failed keeps
    Meta's code and title); an older or repeated status changes nothing, an unknown id is logged.
    Conditional UPDATEs, one per target status (and error). Returns the changes made.

    A status may come before the send's answer has stored the wamid (or instead of it: the worker died
    mid-send): its `biz_opaque_callback_data` names our message, which gets the wamid here."""
    rank = Message.STATUS_RANK
    best: dict[str, _StatusUpdate] = {}
    for update in updates:
        current = best.get(update.provider_message_id)
        if current is None or rank[update.status] > rank[current.status]:
            best[update.provider_message_id] = update
    rows = list(
        Message.objects.for_org(organization)
        .filter(provider_message_id__in=list(best), direction=Message.Direction.OUTBOUND)
        .select_for_update()
        .order_by("id")
        .values("id", "provider_message_id", "status", "conversation_id")
    )
    unknown = set(best) - {row["provider_message_id"] for row in rows}
    rows += _link_unsent(organization, {wamid: best[wamid].message_id for wamid in unknown if best[wamid].message_id})
    unknown -= {row["provider_message_id"] for row in rows}
    if unknown:
        logger.info("statuses for unknown messages ignored: %s", sorted(unknown)[:20])
    groups: dict[tuple[str, int | None, str], list[tuple[int, datetime]]] = defaultdict(list)
    for row in sorted(rows, key=lambda row: row["id"]):
        update = best[row["provider_message_id"]]
        if rank[update.status] > rank[row["status"]]:
            groups[(update.status, update.error_code, update.error_title)].append((row["id"], update.timestamp))
    changes = []
    for (status, error_code, error_title), targets in groups.items():
        lower = [name for name, value in rank.items() if value < rank[status]]
        fields = {"status": status, "status_updated_at": Case(*[When(pk=pk, then=Value(at)) for pk, at in targets])}
        if status == Status.FAILED:
            fields.update(error_code=error_code, error_title=error_title)
        Message.objects.for_org(organization).filter(pk__in=[pk for pk, _ in targets], status__in=lower).update(
            **fields
        )
        changes += [(pk, status, error_code) for pk, _ in targets]
    return changes


def _link_unsent(organization: Organization, message_ids: dict[str, int]) -> list[dict]:
    """Give the wamid of a status to the outbound message its callback data names, when that message has
    none yet (locked, in id order). Returns the linked rows, shaped like _apply_statuses' rows."""
    if not message_ids:
        return []
    wamid_of = {message_id: wamid for wamid, message_id in message_ids.items()}
    rows = list(
        Message.objects.for_org(organization)
        .filter(pk__in=list(wamid_of), direction=Message.Direction.OUTBOUND, provider_message_id__isnull=True)
        .select_for_update()
        .order_by("id")
        .values("id", "status", "conversation_id")
    )
    if rows:
        Message.objects.for_org(organization).filter(pk__in=[row["id"] for row in rows]).update(
            provider_message_id=Case(*[When(pk=row["id"], then=Value(wamid_of[row["id"]])) for row in rows])
        )
    return [{**row, "provider_message_id": wamid_of[row["id"]]} for row in rows]


# --- after commit: live inbox and subscribers ------------------------------------------------------------


def _announce(
    organization: Organization,
    *,
    created: list[Message],
    updated: list[Message],
    conversations: list[Conversation],
    changes: list[tuple[int, str, int | None]],
) -> None:
    """The batch's pushes (lists, in the API's shapes) and hooks, after commit."""
    org_id = organization.pk
    events.publish_ingested_on_commit(
        organization_id=org_id,
        created=created,
        conversations=conversations,
        updated_message_ids=[m.pk for m in updated] + [pk for pk, _, _ in changes],
    )
    inbound = [m.pk for m in created if m.direction == Message.Direction.INBOUND]
    if inbound:
        hooks.message_received.send_on_commit(organization_id=org_id, message_ids=inbound)
    if changes:
        hooks.message_status_changed.send_on_commit(organization_id=org_id, changes=changes)
