"""Internal notes on conversations: the team's words in the thread, never the customer's.

A note is a ConversationNote, not a Message: nothing here touches the provider, the 24-hour window, the
conversation's last message, unread count or counters, nor messaging.hooks (so neither automation, the outbound
webhooks nor campaigns ever see one). It is pushed live as `note.created` ({"notes": [...]}, with the
conversation's number: only the sockets that see the number get it) and the members it mentions are notified.
"""

from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext

from accounts.models import User
from messaging import realtime
from messaging.models import Conversation, ConversationNote, NotificationKind
from messaging.selectors.notes import conversation_members
from messaging.services import notifications
from whatsapp_hub.aftercommit import run_after_commit
from whatsapp_hub.errors import ServiceError

NOTE_MAX_LENGTH = 4096
MAX_MENTIONS = 20


def note_create(
    *, conversation: Conversation, author: User, text: str, mentions: list[int] | None = None
) -> ConversationNote:
    """Write a note in the conversation's thread (the caller sees it already: read through the visibility rules).
    `mentions`: user ids, each an active member who sees the conversation (else 400 on `mentions`); they are
    notified, the author never."""
    text = (text or "").strip()
    if not text:
        message = gettext("Write the note.")
        raise ServiceError(message, errors={"text": [message]})
    if len(text) > NOTE_MAX_LENGTH:
        message = gettext("A note has at most %(max)d characters.") % {"max": NOTE_MAX_LENGTH}
        raise ServiceError(message, errors={"text": [message]})
    wanted = list(dict.fromkeys(mentions or []))
    if len(wanted) > MAX_MENTIONS:
        message = gettext("At most %(max)d mentions in a note.") % {"max": MAX_MENTIONS}
        raise ServiceError(message, errors={"mentions": [message]})
    organization = conversation.organization
    if wanted:
        allowed = set(
            conversation_members(org=organization, conversation=conversation)
            .filter(user_id__in=wanted)
            .values_list("user_id", flat=True)
        )
        refused = [pk for pk in wanted if pk not in allowed]
        if refused:
            message = gettext("Only active members who see this conversation can be mentioned (not: %(ids)s).") % {
                "ids": ", ".join(str(pk) for pk in refused)
            }
            raise ServiceError(message, errors={"mentions": [message]})
    with transaction.atomic():
        note = ConversationNote.objects.create(
            organization=organization, conversation=conversation, author=author, text=text, mentions=wanted
        )
        if wanted:
            contact = conversation.contact
            notifications.notify(
                organization=organization,
                recipient_ids=wanted,
                kind=NotificationKind.MENTION,
                title=notifications.TITLES["mention"],
                params={"actor": author.name or author.email, "contact": contact.display_name},
                body=text,
                link=reverse("inbox-conversation", args=[conversation.pk]),
                conversation_id=conversation.pk,
                actor_id=author.pk,
            )
        run_after_commit(lambda: _publish(note, conversation.number_id), what="note.created push")
    return note


def _publish(note: ConversationNote, number_id: int) -> None:
    from messaging.serializers.notes import note_data

    realtime.publish(note.organization_id, [("note.created", {"notes": [note_data(note)]}, [number_id])])
