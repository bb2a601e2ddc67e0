"""Writing one claimed batch: contacts, conversations and messages each with one statement of many rows (rows.py:
a fixed number of queries per batch and organization, whatever the number of messages), statuses moved forward,
opt-out words applied.

Idempotency: a message is unique on (organization, provider_message_id) and conversations are locked before the
messages are inserted (skipping those stored already), so a redelivery, or two workers racing on the same
conversation, adds nothing twice (unread counts stay exact); a status only moves forward along Message.STATUS_RANK.
"""

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from operator import attrgetter
from typing import NamedTuple

from django.db.models import Case, Q, Value, When
from django.utils import timezone

from accounts.models import Organization
from messaging import hooks
from messaging.models import Contact, Conversation, Media, Message, WebhookEvent, WhatsAppNumber
from messaging.phones import e164_from_wa_id
from messaging.services import media as media_services
from messaging.services import system_log
from messaging.services.contacts import contact_set_opted_out, opt_keyword_reader
from messaging.services.flows import flow_responses_store, flow_webhook_apply
from messaging.services.ingest import rows
from messaging.services.ingest.announce import announce
from messaging.services.ingest.batch import Batch, CallEvent, Item, StatusUpdate
from messaging.services.ingest.calls import calls_store
from messaging.services.ingest.meta import parse_meta
from messaging.services.ingest.waha import parse_waha
from messaging.services.numbers import numbers_meta_update
from messaging.services.waha_sessions import number_session_status_record

logger = logging.getLogger(__name__)

LAST_ERROR_MAX = 4000

Status = Message.Status
Type = Message.Type
EventStatus = WebhookEvent.Status


def ingest_events(events: list[WebhookEvent]) -> None:
    """Ingest claimed events and mark them processed. Must run inside a transaction (all or nothing)."""
    by_org: dict[int, list[WebhookEvent]] = defaultdict(list)
    for event in events:
        by_org[event.organization_id].append(event)
    notes: dict[int, list[str]] = {}
    organizations = Organization.objects.in_bulk(sorted(by_org))
    for organization_id in sorted(by_org):
        notes.update(_ingest_organization(organizations[organization_id], by_org[organization_id]))
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
    batch = Batch(organization=organization)
    for event in events:
        if event.source == WebhookEvent.Source.WAHA:
            parse_waha(batch, event)
        else:
            parse_meta(batch, event)

    created: list[Message] = []
    conversations: list[Conversation] = []
    updated: list[Message] = []
    new_contact_ids: list[int] = []
    stored = Stored()
    if batch.items:
        contacts, new_contact_ids = _upsert_contacts(organization, batch.items)
        stored = _store_messages(organization, batch.items)
        created, conversations, updated = stored.messages, stored.conversations, stored.reactions
        _apply_opt_keywords(organization, created, conversations)
        flow_responses_store(organization=organization, messages=created, conversations=conversations)
        _load_for_push(organization, conversations, contacts)
    if batch.calls:
        new_conversations, new_call_contact_ids = _store_calls(organization, batch.calls)
        conversations = [*conversations, *new_conversations]
        new_contact_ids = [*new_contact_ids, *new_call_contact_ids]
        stored = stored._replace(
            new_conversation_ids=[*stored.new_conversation_ids, *(c.pk for c in new_conversations)]
        )
    status_changes = _apply_statuses(organization, batch.statuses) if batch.statuses else []
    if batch.sessions:
        for number in WhatsAppNumber.objects.for_org(organization).filter(pk__in=list(batch.sessions)):
            status, me = batch.sessions[number.pk]
            number_session_status_record(number=number, status=status, me=me)
    for waba_id, kind, value in batch.number_events:
        numbers_meta_update(organization=organization, waba_id=waba_id, field=kind, value=value)
    for waba_id, value in batch.flow_events:
        flow_webhook_apply(organization=organization, waba_id=waba_id, value=value)
    for waba_id, value in batch.template_events:
        hooks.template_status_changed.send_on_commit(organization_id=organization.pk, waba_id=waba_id, event=value)
    announce(
        organization,
        created=created,
        updated=updated,
        conversations=conversations,
        changes=status_changes,
        new_contact_ids=new_contact_ids,
        new_conversation_ids=stored.new_conversation_ids,
        reopened_conversation_ids=stored.reopened_conversation_ids,
    )
    return batch.notes


def _store_calls(organization: Organization, calls: list[CallEvent]) -> tuple[list[Conversation], list[int]]:
    """The batch's calls (ingest/calls.py), their contacts and conversations upserted as the messages' are; returns
    the conversations the calls created (loaded for the push) and the ids of the contacts they created."""
    contacts, new_contact_ids = _upsert_contacts(organization, calls)
    conversations, new_conversation_ids = _lock_conversations(organization, calls)
    calls_store(organization, calls, conversations)
    created = [conversations[pair] for pair in sorted(conversations) if conversations[pair].pk in new_conversation_ids]
    _load_for_push(organization, created, contacts)
    return created, new_contact_ids


class _ContactRow(NamedTuple):
    """A contact as the batch leaves it: written with its first five fields (and the organization and the times),
    shown in the pushes with its name too."""

    wa_id: str | None
    user_id: str | None
    phone: str
    profile_name: str
    last_inbound_at: datetime | None
    name: str


def _upsert_contacts(
    organization: Organization, items: list[Item] | list[CallEvent]
) -> tuple[dict[int, Contact], list[int]]:
    """One row per sender, keyed on wa_id (or on Meta's user_id when the phone is withheld); sets
    item.contact_id and returns the contacts by id (as the inbox shows them), and the ids of those that were new.
    One read and two bulk upserts, whatever the number of senders."""
    # A sender seen with its phone elsewhere in the batch is keyed on the phone.
    key_of_user = {item.user_id: ("wa_id", item.wa_id) for item in items if item.wa_id and item.user_id}

    def key(item: Item) -> tuple[str, str]:
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
    existing = list(
        Contact.objects.for_org(organization)
        .filter(Q(wa_id__in=wa_ids) | Q(user_id__in=user_ids))
        .values_list("wa_id", "user_id", "phone", "name", "profile_name", "last_inbound_at", named=True)
    )
    by_wa_id = {contact.wa_id: contact for contact in existing if contact.wa_id}
    by_user_id = {contact.user_id: contact for contact in existing if contact.user_id}

    # The contacts as they will be: keyed on wa_id, or on user_id (the key of their upsert).
    on_wa_id: dict[tuple[str, str], _ContactRow] = {}
    on_user_id: dict[tuple[str, str], _ContactRow] = {}
    new_keys: list[tuple[str, str]] = []
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
        if current is None:
            new_keys.append(entry_key)
        group[entry_key] = _ContactRow(
            wa_id,
            (current.user_id if current else None) or user_id,
            current.phone if current and current.wa_id == wa_id else (e164_from_wa_id(wa_id) if wa_id else ""),
            entry["profile_name"] or (current.profile_name if current else ""),
            max((t for t in (entry["inbound"], current and current.last_inbound_at) if t), default=None),
            current.name if current else "",  # not written: the name we gave them, for the pushes
        )
    now = timezone.now()
    constants = {"organization_id": organization.pk, "created_at": now, "updated_at": now}
    contacts = {}
    for group, conflict, update in (
        (on_wa_id, "wa_id", ["user_id", "profile_name", "last_inbound_at", "updated_at"]),
        (on_user_id, "user_id", ["wa_id", "phone", "profile_name", "last_inbound_at", "updated_at"]),
    ):
        if not group:
            continue
        id_of = dict(
            rows.insert(
                Contact,
                _ContactRow._fields[:5],
                (row[:5] for row in group.values()),
                constants=constants,
                conflict=["organization", conflict],
                update=update,
                returning=[conflict, "id"],
            )
        )
        built = rows.instances(
            Contact,
            ("id", *_ContactRow._fields),
            [(id_of[getattr(row, conflict)], *row) for row in group.values()],
            constants=constants,
        )
        contacts.update(zip(group, built, strict=True))
    for item in items:
        item.contact_id = contacts[key(item)].pk
    return {contact.pk: contact for contact in contacts.values()}, [contacts[entry_key].pk for entry_key in new_keys]


def _preview(message: Message) -> str:
    return (message.text or Type(message.type).label)[:200]


def _lock_conversations(
    organization: Organization, items: list[Item] | list[CallEvent]
) -> tuple[dict[tuple[int, int], Conversation], list[int]]:
    """The conversation of each (number, contact) of the batch, created when missing, locked until the batch
    commits (FOR UPDATE, in id order: no deadlock between workers), and the ids of those this batch created. The
    caller inserts the messages after this, so two workers holding the same message cannot both count it."""
    newest: dict[tuple[int, int], datetime] = {}
    for item in items:
        pair = (item.number_id, item.contact_id)
        newest[pair] = max(newest.get(pair, item.timestamp), item.timestamp)

    def locked(pairs: set[tuple[int, int]]) -> dict[tuple[int, int], Conversation]:
        found = (
            Conversation.objects.for_org(organization)
            .filter(number_id__in={pair[0] for pair in pairs}, contact_id__in={pair[1] for pair in pairs})
            .select_for_update()
            .order_by("id")
        )
        return {(row.number_id, row.contact_id): row for row in found if (row.number_id, row.contact_id) in pairs}

    conversations = locked(set(newest))
    missing = sorted(set(newest) - set(conversations))
    new_ids: list[int] = []
    if missing:
        inserted = rows.insert(
            Conversation,
            ["number_id", "contact_id", "last_message_at"],
            [(number_id, contact_id, newest[(number_id, contact_id)]) for number_id, contact_id in missing],
            constants={"organization_id": organization.pk},
            conflict=["organization", "number", "contact"],
            returning=["id"],  # those inserted: a conversation another worker created meanwhile is not returned
        )
        new_ids = [pk for (pk,) in inserted]
        conversations |= locked(set(missing))
    return conversations, new_ids


# What an inbound message's row is written with (the rest: the organization, created_at and defaults).
MESSAGE_FIELDS = (
    "conversation_id",
    "direction",
    "type",
    "text",
    "payload",
    "provider_message_id",
    "reply_to_provider_id",
    "referral",
    "status",
    "provider_timestamp",
)


class Stored(NamedTuple):
    """What _store_messages wrote: the new messages, their conversations, the reactions changed in place, and the
    ids of the conversations it created and of those it reopened."""

    messages: list[Message] = []
    conversations: list[Conversation] = []
    reactions: list[Message] = []
    new_conversation_ids: list[int] = []
    reopened_conversation_ids: list[int] = []


def _store_messages(organization: Organization, items: list[Item]) -> Stored:
    """Insert the messages not stored yet and update their conversations (reopened when closed, unread
    counts, last message, 24-hour window). A fixed number of queries per batch.

    The conversations are locked first, so the insert, which skips the messages stored already (the unique
    (organization, provider_message_id)), finds every message another worker may be storing committed: each is
    inserted, and counted, by one batch only."""
    conversations, new_conversation_ids = _lock_conversations(organization, items)

    unique: dict[str, Item] = {}
    for item in items:
        seen = unique.get(item.provider_message_id)
        # A reaction's add and removal may reuse one id: the latest counts.
        if seen is None or (item.type == Type.REACTION and item.timestamp > seen.timestamp):
            unique[item.provider_message_id] = item
    values = {  # in MESSAGE_FIELDS order
        item.provider_message_id: (
            conversations[(item.number_id, item.contact_id)].pk,
            item.direction,
            item.type,
            item.text,
            item.payload,
            item.provider_message_id,
            item.reply_to,
            item.referral,
            item.status,
            item.timestamp,
        )
        for item in sorted(unique.values(), key=lambda item: item.timestamp)  # ids in time order
    }
    constants = {"organization_id": organization.pk, "created_at": timezone.now()}
    new_ids = dict(
        rows.insert(
            Message,
            MESSAGE_FIELDS,
            values.values(),
            constants=constants,
            conflict=["organization", "provider_message_id"],
            returning=["provider_message_id", "id"],
        )
    )
    messages = rows.instances(
        Message,
        ("id", *MESSAGE_FIELDS),
        ((new_ids[wamid], *row) for wamid, row in values.items() if wamid in new_ids),
        constants=constants,
    )
    updated = _update_reactions(
        organization,
        [item for wamid, item in unique.items() if item.type == Type.REACTION and wamid not in new_ids],
    )
    if not messages:
        return Stored(reactions=updated, new_conversation_ids=new_conversation_ids)
    _store_media(organization, messages, unique, constants["created_at"])
    closed = {c.pk for c in conversations.values() if c.status == Conversation.Status.CLOSED}
    touched = _update_conversations(conversations, messages)
    reopened = [c.pk for c in touched if c.pk in closed and c.status == Conversation.Status.OPEN]
    return Stored(messages, touched, updated, new_conversation_ids, reopened)


def _store_media(organization: Organization, messages: list[Message], items: dict[str, Item], now: datetime) -> None:
    """The media rows of the new messages of a media type (pending: their download is queued after commit)."""
    media = [(message, items[message.provider_message_id].media) for message in messages]
    media = [(message, fields) for message, fields in media if fields is not None]
    if not media:
        return
    names = ["provider_media_id", "mime_type", "sha256", "filename"]
    returned = rows.insert(
        Media,
        ["message_id", *names],
        [(message.pk, *(fields[name] for name in names)) for message, fields in media],
        constants={"organization_id": organization.pk, "created_at": now},
        returning=["message_id", "id"],
    )
    id_of = dict(returned)
    for message, fields in media:
        message.media = Media(
            pk=id_of[message.pk], organization_id=organization.pk, message_id=message.pk, created_at=now, **fields
        )
    media_services.enqueue_inbound_media(organization_id=organization.pk, media_ids=sorted(id_of.values()))


def _load_for_push(organization: Organization, conversations: list[Conversation], contacts: dict[int, Contact]) -> None:
    """Give the batch's conversations their contact and number, as the inbox shows them (one query)."""
    numbers = WhatsAppNumber.objects.for_org(organization).filter(pk__in={c.number_id for c in conversations})
    number_of = {number.pk: number for number in numbers.only("id", "provider")}
    for conversation in conversations:
        conversation.contact = contacts[conversation.contact_id]
        conversation.number = number_of[conversation.number_id]


def _update_reactions(organization: Organization, items: list[Item]) -> list[Message]:
    """A later webhook for a stored reaction (changed or removed emoji) replaces it; anything else
    stored already is a duplicate and changes nothing."""
    if not items:
        return []
    stored = {
        row["provider_message_id"]: row
        for row in Message.objects.for_org(organization)
        .filter(provider_message_id__in=[item.provider_message_id for item in items], type=Type.REACTION)
        .values("id", "provider_message_id", "conversation_id")
    }
    updated = []
    for item in items:
        row = stored.get(item.provider_message_id)
        if row is None:
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
    fields = ["status", "unread_count", "last_inbound_at", "last_message_at", "last_message_preview"]
    fields += ["last_message_direction", "last_message_type"]
    rows.update(Conversation, ["id", *fields], map(attrgetter("id", *fields), sorted(touched, key=lambda c: c.pk)))
    return touched


def _apply_opt_keywords(organization: Organization, messages: list[Message], conversations: list[Conversation]) -> None:
    """A text that is exactly an opt-out word (STOP, إيقاف, ...) opts its sender out, an opt-in word
    (START) back in; a sender's last such message in the batch wins."""
    contact_of = {conversation.pk: conversation.contact_id for conversation in conversations}
    opt_keyword = opt_keyword_reader(organization=organization)
    decisions: dict[int, bool] = {}
    for message in messages:  # in time order
        if message.direction == Message.Direction.INBOUND and message.type == Type.TEXT:
            opted_out = opt_keyword(message.text)
            if opted_out is not None:
                decisions[contact_of[message.conversation_id]] = opted_out
    if decisions:
        for contact in Contact.objects.for_org(organization).filter(pk__in=list(decisions)):
            contact.organization = organization
            contact_set_opted_out(contact=contact, opted_out=decisions[contact.pk], source="inbound")


def _apply_statuses(organization: Organization, updates: list[StatusUpdate]) -> list[tuple[int, str, int | None]]:
    """Move outbound messages forward along Message.STATUS_RANK (sent -> delivered -> read; failed keeps
    Meta's code and title); an older or repeated status changes nothing, an unknown id is logged.
    Two UPDATEs at most (failed ones carry their error). Returns the changes made, in id order.

    A status may come before the send's answer has stored the wamid (or instead of it: the worker died
    mid-send): its `biz_opaque_callback_data` names our message, which gets the wamid here."""
    rank = Message.STATUS_RANK
    best: dict[str, StatusUpdate] = {}
    for update in updates:
        current = best.get(update.provider_message_id)
        if current is None or rank[update.status] > rank[current.status]:
            best[update.provider_message_id] = update
    found = _outbound_by_wamid(organization, best)
    unknown = set(best) - {row["provider_message_id"] for row in found}
    found += _link_unsent(organization, {wamid: best[wamid].message_id for wamid in unknown if best[wamid].message_id})
    unknown -= {row["provider_message_id"] for row in found}
    if unknown:
        # The send's answer may have stored the wamid while _link_unsent waited for the row's lock (its row then no
        # longer matched): now committed, the message is found by its wamid (deploy/topology found the race).
        found += _outbound_by_wamid(organization, unknown)
        unknown -= {row["provider_message_id"] for row in found}
    if unknown:
        logger.info("statuses for unknown messages ignored: %s", sorted(unknown)[:20])
    # The rows are locked and their status was read under the lock: each moves forward from it.
    moved, failed = [], []
    for row in sorted(found, key=lambda row: row["id"]):
        update = best[row["provider_message_id"]]
        if rank[update.status] > rank[row["status"]]:
            if update.status == Status.FAILED:
                failed.append((row["id"], update.status, update.timestamp, update.error_code, update.error_title))
            else:
                moved.append((row["id"], update.status, update.timestamp, None, ""))
    if moved:
        rows.update(Message, ["id", "status", "status_updated_at"], [row[:3] for row in moved])
    if failed:
        rows.update(Message, ["id", "status", "status_updated_at", "error_code", "error_title"], failed)
        system_log.messages_failed(
            organization_id=organization.pk, failed=[(pk, code, title) for pk, _, _, code, title in failed]
        )
    return [(pk, status, error_code) for pk, status, _, error_code, _ in sorted(moved + failed)]


def _outbound_by_wamid(organization: Organization, wamids: Iterable[str]) -> list[dict]:
    """The outbound messages with these wamids, locked in id order, shaped as _apply_statuses reads them."""
    return list(
        Message.objects.for_org(organization)
        .filter(provider_message_id__in=list(wamids), direction=Message.Direction.OUTBOUND)
        .select_for_update()
        .order_by("id")
        .values("id", "provider_message_id", "status", "conversation_id")
    )


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
