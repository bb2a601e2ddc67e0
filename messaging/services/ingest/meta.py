"""Meta's webhook (and the sandbox's, which has its shape) parsed into a Batch: messages, statuses, template,
number and flow events."""

from django.utils import timezone

from messaging.models import Call, Message, WebhookEvent
from messaging.services.ingest.batch import (
    Batch,
    CallEvent,
    Item,
    StatusUpdate,
    as_datetime,
    as_dict,
    as_list,
    as_str,
)

Status = Message.Status
Type = Message.Type

TEMPLATE_FIELDS = frozenset(
    {
        "message_template_status_update",
        "message_template_quality_update",
        "message_template_components_update",
        "template_category_update",
    }
)
# Changes of the numbers' messaging limit, throughput and quality (reference §6.1, §6.2), and of the account (its
# events go to the system log).
NUMBER_FIELDS = frozenset({"business_capability_update", "phone_number_quality_update", "account_update"})
META_STATUSES = {
    "sent": Status.SENT,
    "delivered": Status.DELIVERED,
    "read": Status.READ,
    "played": Status.READ,  # a voice message listened to
    "failed": Status.FAILED,
}
# The Calling API's `direction` of a call (user-initiated: the customer called the number).
META_CALL_DIRECTIONS = {"USER_INITIATED": Call.Direction.INBOUND, "BUSINESS_INITIATED": Call.Direction.OUTBOUND}
# What every send puts in Meta's `biz_opaque_callback_data` (followed by our message id): see delivery.
CALLBACK_PREFIX = "msg:"


def _meta_content(message: dict) -> tuple[str, str, dict | None]:
    """(type, text, media fields) of a Meta message object: every type is kept, unknown ones as unsupported."""
    kind = as_str(message.get("type"))
    obj = as_dict(message.get(kind))
    if kind == "text":
        return Type.TEXT, as_str(obj.get("body")), None
    if kind in Message.MEDIA_TYPES:
        media = {
            "provider_media_id": as_str(obj.get("id"))[:128],
            "mime_type": as_str(obj.get("mime_type"))[:128],
            "sha256": as_str(obj.get("sha256"))[:128],
            "filename": as_str(obj.get("filename"))[:255],
        }
        return kind, as_str(obj.get("caption")), media
    if kind == "location":
        return (
            Type.LOCATION,
            ", ".join(part for part in (as_str(obj.get("name")), as_str(obj.get("address"))) if part),
            None,
        )
    if kind == "contacts":
        cards = [as_dict(card) for card in as_list(message.get("contacts"))]
        names = [as_str(as_dict(card.get("name")).get("formatted_name")) for card in cards]
        return Type.CONTACTS, ", ".join(name for name in names if name), None
    if kind == "interactive":
        reply = as_dict(obj.get(as_str(obj.get("type"))))
        return Type.INTERACTIVE, as_str(reply.get("title")) or as_str(reply.get("body")), None
    if kind == "button":
        return Type.BUTTON, as_str(obj.get("text")) or as_str(obj.get("payload")), None
    if kind == "reaction":
        return Type.REACTION, as_str(obj.get("emoji")), None
    # order, system, unsupported, and whatever Meta adds next: kept whole in the payload.
    return Type.UNSUPPORTED, as_str(obj.get("body")) or as_str(obj.get("text")), None


def _meta_change_messages(batch: Batch, event: WebhookEvent, value: dict, number_id: int) -> None:
    profiles: dict[str, tuple[str, str | None]] = {}
    for contact in as_list(value.get("contacts")):
        contact = as_dict(contact)
        name = as_str(as_dict(contact.get("profile")).get("name"))
        wa_id, user_id = as_str(contact.get("wa_id")) or None, as_str(contact.get("user_id")) or None
        for key in (wa_id, user_id):
            if key:
                profiles[key] = (name, user_id)
    now = timezone.now()
    for message in as_list(value.get("messages")):
        message = as_dict(message)
        wamid = as_str(message.get("id"))
        wa_id = as_str(message.get("from")) or None
        name, user_id = profiles.get(wa_id or "") or profiles.get(as_str(message.get("from_user_id")), ("", None))
        user_id = as_str(message.get("from_user_id")) or user_id
        if not wamid or not (wa_id or user_id):
            batch.note(event, f"message without an id or a sender skipped: {str(message)[:200]}")
            continue
        kind, text, media = _meta_content(message)
        context = as_dict(message.get("context"))
        reply_to = as_str(context.get("id")) or as_str(as_dict(message.get("reaction")).get("message_id"))
        batch.items.append(
            Item(
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
                timestamp=as_datetime(message.get("timestamp"), default=now),
                status=Status.RECEIVED,
                media=media,
            )
        )


def _meta_change_statuses(batch: Batch, event: WebhookEvent, value: dict) -> None:
    now = timezone.now()
    for item in as_list(value.get("statuses")):
        item = as_dict(item)
        status = META_STATUSES.get(as_str(item.get("status")))
        wamid = as_str(item.get("id"))
        if status is None or not wamid:
            batch.note(event, f"status {item.get('status')!r} of {wamid!r} ignored")
            continue
        update = StatusUpdate(wamid, status, as_datetime(item.get("timestamp"), default=now))
        callback = as_str(item.get("biz_opaque_callback_data"))
        if callback.startswith(CALLBACK_PREFIX) and callback[len(CALLBACK_PREFIX) :].isdigit():
            update.message_id = int(callback[len(CALLBACK_PREFIX) :])
        if status == Status.FAILED:
            error = as_dict(next(iter(as_list(item.get("errors"))), None))
            code = error.get("code")
            update.error_code = code if isinstance(code, int) else None
            update.error_title = (as_str(error.get("title")) or as_str(error.get("message")))[:500]
        batch.statuses.append(update)


def _as_seconds(value) -> int | None:
    """A call's duration (Meta sends a number of seconds; a digit string is taken too)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 0 <= value < 2**31:
        return value
    if isinstance(value, str) and value.isdigit() and len(value) < 10:
        return int(value)
    return None


def _meta_call_status(call: dict) -> str:
    """How a terminated call ended: talked (a duration) and COMPLETED, or FAILED after talking; no talk at all is a
    call nobody answered (Meta ends an unanswered call after 30-60 seconds with a terminate webhook)."""
    talked = (_as_seconds(call.get("duration")) or 0) > 0
    if not talked:
        return Call.Status.MISSED
    return Call.Status.FAILED if as_str(call.get("status")).upper() == "FAILED" else Call.Status.COMPLETED


def _meta_change_calls(batch: Batch, event: WebhookEvent, value: dict) -> None:
    """The `calls` field (the Calling API): `connect` when a call rings, `terminate` when it ends (with its status,
    start and end times and duration). The customer is the caller of a user-initiated call, the callee of a
    business-initiated one."""
    metadata = as_dict(value.get("metadata"))
    phone_number_id = as_str(metadata.get("phone_number_id"))
    number_id = batch.number_id(phone_number_id) or event.number_id
    if value.get("statuses"):
        batch.note(event, "call statuses (RINGING, ACCEPTED, REJECTED) not tracked: the terminate webhook ends a call")
    if not value.get("calls"):
        return
    if number_id is None:
        batch.note(event, f"calls for unknown phone_number_id {phone_number_id!r} skipped")
        return
    profiles = {
        as_str(as_dict(contact).get("wa_id")): as_str(as_dict(as_dict(contact).get("profile")).get("name"))
        for contact in as_list(value.get("contacts"))
    }
    business = as_str(metadata.get("display_phone_number"))
    now = timezone.now()
    for call in as_list(value.get("calls")):
        call = as_dict(call)
        call_id, kind = as_str(call.get("id")), as_str(call.get("event"))
        caller, callee = as_str(call.get("from")), as_str(call.get("to"))
        direction = META_CALL_DIRECTIONS.get(as_str(call.get("direction")))
        if direction is None:  # Meta's own examples leave it out of a user-initiated connect
            direction = Call.Direction.OUTBOUND if business and caller == business else Call.Direction.INBOUND
        wa_id = caller if direction == Call.Direction.INBOUND else callee
        if not call_id or kind not in ("connect", "terminate") or not wa_id.isdigit():
            batch.note(event, f"call event {kind!r} of {call_id!r} skipped: {str(call)[:200]}")
            continue
        timestamp = as_datetime(call.get("timestamp"), default=now)
        item = CallEvent(
            number_id=number_id,
            wa_id=wa_id[:32],
            user_id=None,
            profile_name=profiles.get(wa_id, "")[:200],
            provider_call_id=call_id[:255],
            direction=direction,
            status=Call.Status.RINGING,
            timestamp=timestamp,
            payload=call,
        )
        if kind == "terminate":
            item.status = _meta_call_status(call)
            item.timestamp = as_datetime(call.get("start_time"), default=timestamp)
            item.ended_at = as_datetime(call.get("end_time"), default=timestamp)
            item.duration = _as_seconds(call.get("duration"))
            error = as_dict(next(iter(as_list(call.get("errors"))), None))
            code = error.get("code")
            item.error_code = code if isinstance(code, int) and not isinstance(code, bool) else None
            item.error_title = (as_str(error.get("title")) or as_str(error.get("message")))[:500]
        batch.calls.append(item)


def parse_meta(batch: Batch, event: WebhookEvent) -> None:
    """Meta's webhook (and the sandbox's, which has its shape)."""
    for entry in as_list(as_dict(event.body).get("entry")):
        entry = as_dict(entry)
        for change in as_list(entry.get("changes")):
            change = as_dict(change)
            kind, value = as_str(change.get("field")), as_dict(change.get("value"))
            if kind in TEMPLATE_FIELDS:
                batch.template_events.append((str(entry.get("id", "")), value))
                continue
            if kind in NUMBER_FIELDS:
                batch.number_events.append((str(entry.get("id", "")), kind, value))
                continue
            if kind == "flows":
                batch.flow_events.append((str(entry.get("id", "")), value))
                continue
            if kind == "calls":
                _meta_change_calls(batch, event, value)
                continue
            if kind != "messages":
                batch.note(event, f"field {kind!r} not handled")
                continue
            for error in as_list(value.get("errors")):
                error = as_dict(error)
                batch.note(
                    event, f"Meta reported error {error.get('code')}: {error.get('title') or error.get('message')}"
                )
            if value.get("statuses"):
                _meta_change_statuses(batch, event, value)
            if value.get("messages"):
                phone_number_id = as_str(as_dict(value.get("metadata")).get("phone_number_id"))
                number_id = batch.number_id(phone_number_id) or event.number_id
                if number_id is None:
                    batch.note(event, f"messages for unknown phone_number_id {phone_number_id!r} skipped")
                    continue
                _meta_change_messages(batch, event, value, number_id)
