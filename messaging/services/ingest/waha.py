"""WAHA's webhook events (message, message.any, message.reaction, message.ack, session.status) parsed into a
Batch."""

from datetime import datetime

from django.utils import timezone

from messaging.models import Call, Message, WebhookEvent, WhatsAppNumber
from messaging.services.ingest.batch import Batch, CallEvent, Item, StatusUpdate, as_datetime, as_dict, as_str

Status = Message.Status
Type = Message.Type

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
# WAHA's call events: an incoming call rang, was accepted (on the phone or another device), or was rejected. WAHA
# reports no end of an accepted call, so no duration.
WAHA_CALL_STATUSES = {
    "call.received": Call.Status.RINGING,
    "call.accepted": Call.Status.ANSWERED,
    "call.rejected": Call.Status.REJECTED,
}
WAHA_SESSION_STATUSES = frozenset(WhatsAppNumber.SessionStatus.values)
# WhatsApp chats that are not one person: no contact, no conversation.
WAHA_NOT_A_PERSON = ("@g.us", "@newsletter", "@broadcast")


def _waha_chat(chat_id: str) -> tuple[str | None, str | None]:
    """(wa_id, user_id) of a one-to-one WAHA chat id: `<digits>@c.us` (or `@s.whatsapp.net`), `<id>@lid`."""
    if chat_id.endswith("@lid"):
        return None, chat_id
    if chat_id.endswith(("@c.us", "@s.whatsapp.net")):
        digits = chat_id.split("@", 1)[0]
        return (digits, None) if digits.isdigit() else (None, None)
    return None, None


def _waha_type(payload: dict) -> str:
    kind = as_str(as_dict(payload.get("_data")).get("type"))
    if kind:
        return WAHA_TYPES.get(kind, Type.UNSUPPORTED)
    if payload.get("hasMedia"):
        major = as_str(as_dict(payload.get("media")).get("mimetype")).split("/", 1)[0]
        return {"image": Type.IMAGE, "video": Type.VIDEO, "audio": Type.AUDIO}.get(major, Type.DOCUMENT)
    return Type.TEXT if as_str(payload.get("body")) else Type.UNSUPPORTED


def _parse_waha_message(batch: Batch, event: WebhookEvent, envelope: dict, received: datetime) -> None:
    payload = as_dict(envelope.get("payload"))
    from_me = bool(payload.get("fromMe"))
    if from_me and payload.get("source") == "api":
        return  # sent through the hub: the message exists (or is being sent); its acks update it
    wamid = payload.get("id")
    wamid = as_str(as_dict(wamid).get("_serialized")) if isinstance(wamid, dict) else as_str(wamid)
    chat = as_str(payload.get("to") if from_me else payload.get("from"))
    wa_id, user_id = _waha_chat(chat)
    if not wamid or not (wa_id or user_id):
        reason = "a group, channel or broadcast" if chat.endswith(WAHA_NOT_A_PERSON) else "no id or sender"
        batch.note(event, f"WAHA message {wamid!r} in {chat!r} skipped ({reason})")
        return
    data = as_dict(payload.get("_data"))
    reaction = as_dict(payload.get("reaction"))
    if envelope.get("event") == "message.reaction":
        kind, text, reply_to = Type.REACTION, as_str(reaction.get("text")), as_str(reaction.get("messageId"))
    else:
        kind, text = _waha_type(payload), as_str(payload.get("body"))
        reply_to = as_str(as_dict(payload.get("replyTo")).get("id"))
    media = None
    if kind in Message.MEDIA_TYPES:
        info = as_dict(payload.get("media"))
        # WAHA media are fetched by URL (kept in the payload), not by a media id.
        media = {
            "provider_media_id": "",
            "mime_type": as_str(info.get("mimetype"))[:128],
            "sha256": "",
            "filename": as_str(info.get("filename"))[:255],
        }
    if from_me:
        status = WAHA_ACKS.get(payload.get("ack"), Status.SENT)
        status = Status.SENT if status == Status.QUEUED else status
    else:
        status = Status.RECEIVED
    batch.items.append(
        Item(
            number_id=event.number_id,
            wa_id=wa_id,
            user_id=user_id,
            profile_name="" if from_me else (as_str(data.get("notifyName")) or as_str(data.get("pushName")))[:200],
            provider_message_id=wamid[:255],
            direction=Message.Direction.OUTBOUND if from_me else Message.Direction.INBOUND,
            type=kind,
            text=text,
            payload=payload,
            reply_to=reply_to[:255],
            referral=None,
            timestamp=as_datetime(payload.get("timestamp"), default=received),
            status=status,
            media=media,
        )
    )


def _parse_waha_call(batch: Batch, event: WebhookEvent, kind: str, payload: dict, received: datetime) -> None:
    """`{id, from, timestamp, isVideo, isGroup}`: an incoming call (WAHA reports no calls made from the phone)."""
    call_id, caller = as_str(payload.get("id")), as_str(payload.get("from"))
    wa_id, user_id = _waha_chat(caller)
    if payload.get("isGroup") is True or not call_id or not (wa_id or user_id):
        batch.note(event, f"WAHA {kind} {call_id!r} from {caller!r} skipped (a group call, or no id or caller)")
        return
    batch.calls.append(
        CallEvent(
            number_id=event.number_id,
            wa_id=wa_id,
            user_id=user_id,
            profile_name="",
            provider_call_id=call_id[:255],
            direction=Call.Direction.INBOUND,
            status=WAHA_CALL_STATUSES[kind],
            timestamp=as_datetime(payload.get("timestamp"), default=received),
            payload=payload,
            is_video=payload.get("isVideo") is True,
            ended_at=received if kind == "call.rejected" else None,
        )
    )


def parse_waha(batch: Batch, event: WebhookEvent) -> None:
    envelope = as_dict(event.body)
    kind = as_str(envelope.get("event"))
    payload = as_dict(envelope.get("payload"))
    received = as_datetime(envelope.get("timestamp"), default=timezone.now(), milliseconds=True)
    if event.number_id is None:
        batch.note(event, "WAHA event without its number skipped")
    elif kind in ("message", "message.any", "message.reaction"):
        _parse_waha_message(batch, event, envelope, received)
    elif kind == "message.ack":
        status = WAHA_ACKS.get(payload.get("ack"))
        wamid = as_str(payload.get("id"))
        if status is None or not wamid:
            batch.note(event, f"ack {payload.get('ack')!r} of {wamid!r} ignored")
            return
        update = StatusUpdate(wamid, status, received)
        if status == Status.FAILED:
            update.error_title = "WAHA could not deliver the message (ack -1, ERROR)."
        batch.statuses.append(update)
    elif kind in WAHA_CALL_STATUSES:
        _parse_waha_call(batch, event, kind, payload, received)
    elif kind == "session.status":
        status = as_str(payload.get("status"))
        if status in WAHA_SESSION_STATUSES:
            me = envelope.get("me")
            batch.sessions[event.number_id] = (status, me if isinstance(me, dict) else None)
        else:
            batch.note(event, f"session status {status!r} not tracked")
    else:
        batch.note(event, f"WAHA event {kind!r} not handled")
