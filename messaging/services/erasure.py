"""Deleting a contact erases them: their rows, the raw webhook events that hold their data, and their media files.

Raw events are providers' JSON bodies. A WAHA event is about one chat: when that chat is the contact's, the event
is deleted. A Meta (or sandbox) event may carry several customers' messages and statuses: the contact's entries
(their `contacts` profile, the messages they sent, the statuses of messages to them) are cut out; the event is
deleted when nothing of anyone else is left in it, and kept scrubbed otherwise (another customer's message in it may
still be waiting to be ingested). Lines of an event's notes or error that name the contact go too.

Media files are deleted from storage after the commit, except a file another message still uses (a sent file is
shared by the copies of its Media row). Deleting an organization deletes all of its media files after the commit
(accounts.hooks.organization_deleting, subscribed in messaging.apps).
"""

import contextlib
import copy
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast

from accounts import plans
from accounts.models import Organization
from accounts.services import audit_log_write
from messaging import hooks
from messaging.models import Contact, Media, WebhookEvent
from messaging.services.ingest.batch import as_dict, as_list, as_str
from messaging.services.ingest.waha import _waha_chat
from messaging.tasks import erasure as erasure_tasks
from whatsapp_hub.aftercommit import enqueue_after_commit, run_after_commit

# The fields of a Meta `messages` change that name a customer, by the list that holds them.
META_PARTY_FIELDS = {
    "contacts": ("wa_id", "user_id"),
    "messages": ("from", "from_user_id"),
    "statuses": ("recipient_id", "recipient_user_id"),
}
CHUNK = 200
# An organization may hold far more files than one request or one task should delete.
FILES_PER_TASK = 500


@transaction.atomic
def contact_delete(*, contact: Contact, actor=None) -> None:
    """Delete a contact for good, with their conversations and messages; delete or scrub the raw webhook events
    that hold their data; after the commit, delete their media files that no other message uses, and tell the apps
    above (hooks.contact_deleted: outbound webhook deliveries about them go). Audited, with what was erased."""
    organization = contact.organization
    files = contact_media_files(contact=contact)
    deleted, scrubbed = webhook_events_erase_contact(organization=organization, identities=contact_identities(contact))
    audit_log_write(
        organization=organization,
        actor=actor,
        action="contact.delete",
        target=contact,
        data={"webhook_events_deleted": deleted, "webhook_events_scrubbed": scrubbed, "media_files": len(files)},
    )
    contact_id = contact.pk
    contact.delete()
    media_files_delete_on_commit(organization_id=organization.pk, names=files)
    hooks.contact_deleted.send_on_commit(organization_id=organization.pk, contact_id=contact_id)


def contact_identities(contact: Contact) -> frozenset[str]:
    """What names the contact in a provider's payload: their wa_id (phone digits) and their user id."""
    return frozenset(value for value in (contact.wa_id, contact.user_id) if value)


def webhook_events_erase_contact(*, organization: Organization, identities: frozenset[str]) -> tuple[int, int]:
    """Delete or scrub the organization's raw webhook events that name these identities. Returns (deleted,
    scrubbed). Must be called inside the transaction that deletes the contact.

    A text search narrows the events down (a body that never spells an identity cannot name it); each candidate
    is then read as its provider's structure, so a wamid or another number that merely contains the digits is left
    alone. An event a worker is ingesting at this very moment may still bring the contact back, as a new message
    from them would."""
    if not identities:
        return 0, 0
    spelled = Q()
    for identity in identities:
        spelled |= Q(body_text__contains=identity)
    candidates = (
        WebhookEvent.objects.for_org(organization)
        .alias(body_text=Cast("body", output_field=TextField()))
        .filter(spelled)
        .only("id", "source", "body", "last_error")
        .order_by("id")
    )
    deleted: list[int] = []
    scrubbed: list[WebhookEvent] = []
    for event in candidates.iterator(chunk_size=CHUNK):
        if event.source == WebhookEvent.Source.WAHA:
            if _waha_names(event.body, identities):
                deleted.append(event.pk)
            continue
        body, removed, others_left = _meta_without(event.body, identities)
        if not removed:
            continue
        if not others_left:
            deleted.append(event.pk)
            continue
        event.body = body
        event.last_error = "\n".join(
            line for line in event.last_error.splitlines() if not any(identity in line for identity in identities)
        )
        scrubbed.append(event)
    for start in range(0, len(deleted), CHUNK):
        WebhookEvent.objects.for_org(organization).filter(pk__in=deleted[start : start + CHUNK]).delete()
    WebhookEvent.objects.bulk_update(scrubbed, ["body", "last_error"], batch_size=CHUNK)
    return len(deleted), len(scrubbed)


def _waha_names(body: dict, identities: frozenset[str]) -> bool:
    """Whether a WAHA event is about a chat with one of these identities."""
    payload = as_dict(as_dict(body).get("payload"))
    for chat in (payload.get("from"), payload.get("to"), payload.get("participant")):
        if any(identity in identities for identity in _waha_chat(as_str(chat)) if identity):
            return True
    return False


def _meta_without(body: dict, identities: frozenset[str]) -> tuple[dict, bool, bool]:
    """A Meta event without the entries naming these identities: (the new body, whether anything was removed,
    whether anything of anyone else is left: another customer's message or status, or a change of another kind)."""
    body = copy.deepcopy(body)
    removed = others_left = False
    for entry in as_list(as_dict(body).get("entry")):
        for change in as_list(as_dict(entry).get("changes")):
            change = as_dict(change)
            if change.get("field") != "messages":
                others_left = True  # template updates and the like: not about a customer
                continue
            value = as_dict(change.get("value"))
            for key, fields in META_PARTY_FIELDS.items():
                items = value.get(key)
                if not isinstance(items, list):
                    continue
                left = [item for item in items if not _names(item, fields, identities)]
                if len(left) < len(items):
                    removed = True
                    value[key] = left
                if left and key != "contacts":
                    others_left = True
    return body, removed, others_left


def _names(item, fields: Iterable[str], identities: frozenset[str]) -> bool:
    item = as_dict(item)
    return any(as_str(item.get(field)) in identities for field in fields)


# --- media files -----------------------------------------------------------------------------------------------


def contact_media_files(*, contact: Contact) -> set[str]:
    """The stored files of the contact's messages (read before their rows are deleted)."""
    media = Media.objects.for_org(contact.organization).filter(message__conversation__contact=contact)
    return set(media.exclude(file="").values_list("file", flat=True))


def organization_media_files_delete_on_commit(*, organization: Organization) -> None:
    """accounts.hooks.organization_deleting: every stored file of the organization's media (its messages' and its
    uploads not sent yet) is deleted after the commit that deletes its rows, by tasks of FILES_PER_TASK files.
    Must be called inside that transaction, before the rows go."""
    media = Media.objects.for_org(organization).exclude(file="")
    names = sorted(set(media.values_list("file", flat=True)))
    for start in range(0, len(names), FILES_PER_TASK):
        enqueue_after_commit(erasure_tasks.delete_media_files, organization.pk, names[start : start + FILES_PER_TASK])


def media_files_delete_on_commit(*, organization_id: int, names: set[str]) -> None:
    """After the commit, delete these stored files of the organization, except those a Media row still uses."""
    if names:
        run_after_commit(
            lambda: media_files_delete_unused(organization_id=organization_id, names=names), what="media files erase"
        )


def media_files_delete_unused(*, organization_id: int, names: set[str]) -> None:
    organization = Organization(pk=organization_id)
    used = set(Media.objects.for_org(organization).filter(file__in=names).values_list("file", flat=True))
    storage = Media._meta.get_field("file").storage
    freed = 0
    for name in sorted(names - used):
        # A file gone already (counted when it went) or a storage that cannot tell frees nothing here.
        with contextlib.suppress(OSError, NotImplementedError):
            freed += storage.size(name)
        storage.delete(name)
    plans.usage_storage_add(organization_id=organization_id, delta=-freed)
