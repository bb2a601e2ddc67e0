"""Meta's webhook (and the sandbox's, which has its shape) parsed into a Batch: messages, statuses, template
events."""

from django.utils import timezone

from messaging.models import Message, WebhookEvent
from messaging.services.ingest.batch import Batch, Item, StatusUpdate, as_datetime, as_dict, as_list, as_str

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
