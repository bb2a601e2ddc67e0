"""Canned responses: the organization's snippets agents insert by typing `/shortcut` in the composer. Create, update
and delete (admins), the placeholders their text may hold and the one function that fills them in for a
conversation's contact and the agent writing.

A canned response may carry an attachment (a photo, a video or a document): inserted in the composer, it is sent as
that media message with the text as its caption. The attachment is an upload of the organization (POST media/, or a
file given here) kept for this purpose: sending it copies the row, never takes it (messaging.services.conversations).
"""

import re

from django.core.files import File
from django.db import IntegrityError, transaction
from django.utils.translation import gettext, gettext_lazy

from accounts.models import Organization, User
from accounts.services import audit_log_write
from messaging.models import CannedResponse, Contact, Media, Message
from messaging.services.conversations import UNCHANGED
from messaging.services.media import media_check, media_store_upload, message_type_of, mime_type_of
from whatsapp_hub.errors import ServiceError

SHORTCUT_MAX_LENGTH = CannedResponse._meta.get_field("shortcut").max_length
TITLE_MAX_LENGTH = CannedResponse._meta.get_field("title").max_length
# WhatsApp's limits: a text message's body, and a media message's caption (the text of a response with a file).
TEXT_MAX_LENGTH = 4096
CAPTION_MAX_LENGTH = 1024
# Letters (of any alphabet, stored lower-case), digits, _ and -: what can follow "/" in the composer up to a space.
SHORTCUT_PATTERN = re.compile(r"^[\w-]+$")
# The message types whose media carry a caption: the text goes with the file.
ATTACHMENT_TYPES = (Message.Type.IMAGE, Message.Type.VIDEO, Message.Type.DOCUMENT)

# {{ name }}, spaces inside the braces allowed.
PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
# Every placeholder the text may hold, and what it becomes (the settings page lists them).
PLACEHOLDERS = {
    "contact.name": gettext_lazy("the customer's name (as saved, else their WhatsApp profile name)"),
    "contact.first_name": gettext_lazy("the first word of the customer's name"),
    "contact.phone": gettext_lazy("the customer's phone number"),
    "agent.name": gettext_lazy("the name of the agent sending it"),
}


# --- placeholders ------------------------------------------------------------------------------------------------


def _placeholder_values(*, contact: Contact, agent: User | None) -> dict[str, str]:
    name = (contact.name or contact.profile_name or "").strip()
    return {
        "contact.name": name,
        "contact.first_name": name.split()[0] if name else "",
        "contact.phone": contact.phone or (f"+{contact.wa_id}" if contact.wa_id else ""),
        "agent.name": agent.name.strip() if isinstance(agent, User) else "",
    }


def canned_text_render(*, text: str, contact: Contact, agent: User | None) -> str:
    """`text` with its placeholders filled in for a conversation's `contact` and the `agent` writing (None: an API
    key, nobody). A value the hub does not know (a contact without a name, an agent without one) becomes "": the
    agent sees the text in the composer before sending it. Names are matched case-insensitively; anything else
    between double braces is left as written."""
    values = _placeholder_values(contact=contact, agent=agent)

    def fill(match: re.Match) -> str:
        return values.get(match.group(1).lower(), match.group(0))

    return PLACEHOLDER.sub(fill, text)


def _unknown_placeholders(text: str) -> list[str]:
    return sorted({name for name in PLACEHOLDER.findall(text) if name.lower() not in PLACEHOLDERS})


# --- checks ------------------------------------------------------------------------------------------------------


def _refuse(field: str, message: str) -> ServiceError:
    return ServiceError(message, errors={field: [message]})


def _shortcut_or_error(shortcut: str) -> str:
    """The shortcut as stored: without a leading "/" and lower-case; a 400 unless it is 1-32 letters, digits, _ or
    -."""
    cleaned = shortcut.strip().removeprefix("/").lower()
    if not SHORTCUT_PATTERN.match(cleaned) or len(cleaned) > SHORTCUT_MAX_LENGTH:
        raise _refuse(
            "shortcut",
            gettext("A shortcut is 1 to %(max)d letters, digits, _ or - with no spaces (typed after /, e.g. price).")
            % {"max": SHORTCUT_MAX_LENGTH},
        )
    return cleaned


def _shortcut_taken(shortcut: str) -> ServiceError:
    return _refuse(
        "shortcut",
        gettext("There is already a canned response /%(shortcut)s: choose another shortcut.") % {"shortcut": shortcut},
    )


def _title_or_error(title: str) -> str:
    title = title.strip()
    if len(title) > TITLE_MAX_LENGTH:
        raise _refuse("title", gettext("A title is at most %(max)d characters.") % {"max": TITLE_MAX_LENGTH})
    return title


def _text_or_error(*, text: str, has_attachment: bool) -> str:
    """The text as stored (stripped): required without an attachment, at most WhatsApp's text (or caption) length,
    holding only known placeholders."""
    text = text.strip()
    if not text and not has_attachment:
        raise _refuse("text", gettext("Write the text of the response (or attach a file)."))
    limit = CAPTION_MAX_LENGTH if has_attachment else TEXT_MAX_LENGTH
    if len(text) > limit:  # code points, as WhatsApp counts
        message = (
            gettext("With an attachment the text is its caption: at most %(max)d characters (this one has %(count)d).")
            if has_attachment
            else gettext("The text is at most %(max)d characters (this one has %(count)d).")
        )
        raise _refuse("text", message % {"max": limit, "count": len(text)})
    unknown = _unknown_placeholders(text)
    if unknown:
        raise _refuse(
            "text",
            gettext("Unknown placeholder %(unknown)s: the placeholders are %(known)s.")
            % {
                "unknown": ", ".join(f"{{{{{name}}}}}" for name in unknown),
                "known": ", ".join(f"{{{{{name}}}}}" for name in PLACEHOLDERS),
            },
        )
    return text


def _attachment_type_or_error(*, mime_type: str, size: int, field: str) -> None:
    """A photo, a video or a document WhatsApp accepts (type and size), else a 400 naming `field`."""
    if message_type_of(mime_type) not in ATTACHMENT_TYPES:
        raise _refuse(
            field,
            gettext(
                "Attach a photo (JPEG, PNG), a video (MP4, 3GPP) or a document (PDF, Word, Excel, PowerPoint, text): "
                "WhatsApp sends it with the text as its caption."
            ),
        )
    media_check(mime_type=mime_type, size=size, message_type=message_type_of(mime_type), field=field)


def _uploaded_or_error(*, organization: Organization, media_id: int) -> Media:
    """An upload of the organization (POST media/) that is ready and sent with no message yet (a customer's file
    belongs to their conversation); a 400 naming attachment_id otherwise."""
    media = (
        Media.objects.for_org(organization)
        .filter(pk=media_id, message__isnull=True, status=Media.Status.READY)
        .exclude(file="")
        .first()
    )
    if media is None:
        raise _refuse(
            "attachment_id", gettext("No such uploaded media in this organization (upload it with POST media/ first).")
        )
    _attachment_type_or_error(mime_type=media.mime_type, size=media.size or 0, field="attachment_id")
    return media


def _file_checked(file: File) -> str:
    """The MIME type of an attachment given as a file, once checked (400 naming attachment_file)."""
    mime = mime_type_of(file)
    _attachment_type_or_error(mime_type=mime, size=file.size, field="attachment_file")
    return mime


# --- writes ------------------------------------------------------------------------------------------------------


def canned_response_create(
    *,
    organization: Organization,
    actor,
    shortcut: str,
    text: str = "",
    title: str = "",
    attachment_id: int | None = None,
    attachment_file: File | None = None,
) -> CannedResponse:
    """A new canned response (audited as canned_response.create). The attachment is an upload of the organization
    (`attachment_id`) or a file stored now (`attachment_file`), one of them. 400s name the field at fault: the
    shortcut's form, a shortcut the organization has already, the text (required without an attachment, its length,
    unknown placeholders), an attachment that is not a photo, video or document WhatsApp accepts."""
    if attachment_id is not None and attachment_file is not None:
        raise _refuse("attachment_id", gettext("Attach an uploaded file or a new file, not both."))
    shortcut = _shortcut_or_error(shortcut)
    has_attachment = attachment_id is not None or attachment_file is not None
    fields = {"title": _title_or_error(title), "text": _text_or_error(text=text, has_attachment=has_attachment)}
    responses = CannedResponse.objects.for_org(organization)
    if responses.filter(shortcut=shortcut).exists():  # before a file is stored for nothing
        raise _shortcut_taken(shortcut)
    attachment = None
    if attachment_id is not None:
        attachment = _uploaded_or_error(organization=organization, media_id=attachment_id)
    elif attachment_file is not None:
        attachment = media_store_upload(
            organization=organization, file=attachment_file, mime_type=_file_checked(attachment_file)
        )
    try:
        with transaction.atomic():
            if attachment is not None and attachment.pk is None:
                attachment.save()
            canned = CannedResponse.objects.create(
                organization=organization,
                shortcut=shortcut,
                attachment=attachment,
                created_by=actor if isinstance(actor, User) else None,
                **fields,
            )
            audit_log_write(organization=organization, actor=actor, action="canned_response.create", target=canned)
    except IntegrityError:  # created meanwhile by someone else
        raise _shortcut_taken(shortcut) from None
    return canned


def canned_response_update(
    *,
    canned_response: CannedResponse,
    actor,
    shortcut: str | None = None,
    text: str | None = None,
    title: str | None = None,
    attachment_id: int | None = UNCHANGED,
    attachment_file: File | None = None,
) -> CannedResponse:
    """Change the fields given (None, or UNCHANGED for `attachment_id`, leaves one as it is); `attachment_id=None`
    removes the attachment, `attachment_file` replaces it. Checked as canned_response_create checks them, the text
    against the attachment the response will have. Audited as canned_response.update."""
    canned = canned_response
    organization = canned.organization
    if attachment_id is not UNCHANGED and attachment_id is not None and attachment_file is not None:
        raise _refuse("attachment_id", gettext("Attach an uploaded file or a new file, not both."))
    changed: list[str] = []
    if shortcut is not None:
        canned.shortcut = _shortcut_or_error(shortcut)
        taken = CannedResponse.objects.for_org(organization).filter(shortcut=canned.shortcut).exclude(pk=canned.pk)
        if taken.exists():
            raise _shortcut_taken(canned.shortcut)
        changed.append("shortcut")
    if title is not None:
        canned.title = _title_or_error(title)
        changed.append("title")
    attachment = canned.attachment
    if attachment_file is not None:
        mime = _file_checked(attachment_file)
        attachment = None  # checked; stored below, once the text is known to fit
        changed.append("attachment")
    elif attachment_id is not UNCHANGED:
        if attachment_id is None:
            attachment = None
        elif attachment_id != canned.attachment_id:
            attachment = _uploaded_or_error(organization=organization, media_id=attachment_id)
        changed.append("attachment")
    has_attachment = attachment is not None or attachment_file is not None
    if text is not None or "attachment" in changed:
        canned.text = _text_or_error(text=canned.text if text is None else text, has_attachment=has_attachment)
        changed.append("text")
    if attachment_file is not None:
        attachment = media_store_upload(organization=organization, file=attachment_file, mime_type=mime)
    canned.attachment = attachment
    if not changed:
        return canned
    try:
        with transaction.atomic():
            if attachment is not None and attachment.pk is None:
                attachment.save()
            canned.save(update_fields=[*changed, "updated_at"])
            audit_log_write(organization=organization, actor=actor, action="canned_response.update", target=canned)
    except IntegrityError:
        raise _shortcut_taken(canned.shortcut) from None
    return canned


@transaction.atomic
def canned_response_delete(*, canned_response: CannedResponse, actor) -> None:
    """Delete it (audited as canned_response.delete). Its attachment stays an upload of the organization: messages
    sent with it share its stored file."""
    audit_log_write(
        organization=canned_response.organization,
        actor=actor,
        action="canned_response.delete",
        target=canned_response,
        data={"shortcut": canned_response.shortcut},
    )
    canned_response.delete()
