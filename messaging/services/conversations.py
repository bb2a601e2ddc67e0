"""Conversations and outbound messages: assignment, sending (stored queued, delivered by a task after commit),
delivery through the number's provider, read receipts, and reaching a customer first (a template, or any message to
a phone)."""

import base64
import copy
import logging
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.core.files import File
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from accounts import plans
from accounts.integration_models import IntegrationKind
from accounts.integrations import integration_failed, integration_ok
from accounts.models import Membership, Organization, Role, Team, User
from accounts.services import audit_log_write
from messaging import hooks, message_parts
from messaging.models import (
    WINDOW_CLOSED_DETAIL,
    CannedResponse,
    Contact,
    Conversation,
    ConversationResolution,
    Media,
    Message,
    Provider,
    WhatsAppNumber,
)
from messaging.providers import ProviderError, provider_for, status_webhooks_for
from messaging.providers.base import Provider as ProviderClient
from messaging.providers.base import SendResult, connection_error_code
from messaging.providers.waha import SENDABLE_TYPES as WAHA_SENDABLE_TYPES
from messaging.selectors.access import NumberIds, visible_number_ids
from messaging.selectors.conversations import media_list
from messaging.selectors.numbers import number_list
from messaging.services import flows, ingest, system_log
from messaging.services.contacts import contact_get_or_create, phone_or_error
from messaging.services.events import publish_conversation_on_commit, publish_message_on_commit
from messaging.services.ingest import rows
from messaging.services.ingest.meta import CALLBACK_PREFIX
from messaging.services.media import media_check, media_store_upload, mime_type_of
from messaging.services.retries import (
    MAX_ATTEMPTS,
    RetryLater,
    attempt_grace,
    backoff_countdown,
    stalled,
)
from messaging.tasks import delivery as delivery_tasks
from whatsapp_hub.aftercommit import enqueue_after_commit
from whatsapp_hub.errors import ServiceError
from whatsapp_hub.ops import metrics

logger = logging.getLogger(__name__)

PREVIEW_LENGTH = Conversation._meta.get_field("last_message_preview").max_length
ERROR_TITLE_LENGTH = Message._meta.get_field("error_title").max_length
SENDER_LABEL_LENGTH = Message._meta.get_field("sender_label").max_length
INBOX_ROLES = (Role.ADMIN, Role.AGENT)
# Marketing and utility templates look alike here (their category lives in the templates app): none goes to a
# contact who opted out.
OPTED_OUT_DETAIL = gettext_noop(
    "This contact opted out of marketing messages. The template's category (marketing or utility) is not known "
    "here, so no template is sent to an opted-out contact; they opt back in by writing START."
)


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Any = _Unchanged()


# --- assignment and status -------------------------------------------------------------------------


def _assignee_or_error(*, organization: Organization, user_id: int, number_id: int) -> None:
    """An active admin or agent of the organization who sees the conversation's number (else they could not open
    the conversation assigned to them)."""
    membership = (
        Membership.objects.for_org(organization)
        .filter(user_id=user_id, is_active=True, role__in=INBOX_ROLES, user__is_active=True)
        .first()
    )
    if membership is None:
        message = gettext("Assign the conversation to an active admin or agent of this organization.")
        raise ServiceError(message, errors={"assigned_to": [message]})
    visible = visible_number_ids(org=organization, user_id=user_id, role=membership.role)
    if visible is not None and number_id not in visible:
        message = gettext(
            "This member does not see the conversation's WhatsApp number: assign the number to them first."
        )
        raise ServiceError(message, errors={"assigned_to": [message]})


def _agent_may_assign(*, actor_id: int | None, current: int | None, new: int | None) -> None:
    """Agents take an unassigned conversation (to themselves) or release their own; nothing else."""
    if actor_id is not None and current is None and new == actor_id:
        return
    if actor_id is not None and current == actor_id and new is None:
        return
    if current is not None and current != actor_id and new == actor_id:
        raise ServiceError(
            gettext("This conversation is assigned to someone else; an admin can reassign it."),
            status_code=409,
            code="already_assigned",
        )
    raise ServiceError(
        gettext("Agents can only take an unassigned conversation or release their own; an admin can assign anyone."),
        status_code=403,
        code="permission_denied",
    )


@transaction.atomic
def conversation_update(
    *,
    conversation: Conversation,
    actor: Any,
    role: str,
    status: str | None = None,
    assigned_to_id: int | None = UNCHANGED,
    team_id: int | None = UNCHANGED,
    audit_data: Mapping[str, Any] | None = None,
) -> Conversation:
    """Change the status, assignee and/or team (UNCHANGED leaves one as it is).

    Admins assign anyone; agents may take an unassigned conversation or release their own (403 otherwise, 409
    when someone else took it first). The assignee must be an active admin or agent member and the team one of
    the organization's (400). Assignment changes are audited (`conversation.assign`); conversation.updated is
    published after commit, and the hooks told (conversation_updated; conversation_assigned when the assignee or
    the team changed). Closing records a ConversationResolution (the reports' resolution times). `audit_data` adds
    to the audit entry (e.g. the lead-routing rule that chose the assignee).
    """
    organization = conversation.organization
    locked = Conversation.objects.for_org(organization).select_for_update().get(pk=conversation.pk)
    changed: list[str] = []
    audit: dict[str, list] = {}
    if assigned_to_id is not UNCHANGED and assigned_to_id != locked.assigned_to_id:
        if role != Role.ADMIN:
            _agent_may_assign(actor_id=getattr(actor, "pk", None), current=locked.assigned_to_id, new=assigned_to_id)
        if assigned_to_id is not None:
            _assignee_or_error(organization=organization, user_id=assigned_to_id, number_id=locked.number_id)
        audit["assigned_to"] = [locked.assigned_to_id, assigned_to_id]
        locked.assigned_to_id = assigned_to_id
        changed.append("assigned_to")
    if team_id is not UNCHANGED and team_id != locked.team_id:
        if team_id is not None and not Team.objects.for_org(organization).filter(pk=team_id).exists():
            message = gettext("No such team in this organization.")
            raise ServiceError(message, errors={"team": [message]})
        audit["team"] = [locked.team_id, team_id]
        locked.team_id = team_id
        changed.append("team")
    if status is not None and status != locked.status:
        locked.status = status
        changed.append("status")
    if changed:
        locked.save(update_fields=changed)
        if "status" in changed and locked.status == Conversation.Status.CLOSED:
            _resolution_record(conversation=locked, actor=actor)
        publish_conversation_on_commit(conversation_id=locked.pk, organization_id=organization.pk)
        hooks.conversation_updated.send_on_commit(
            organization_id=organization.pk, conversation_ids=[locked.pk], fields=list(changed)
        )
    if audit:
        audit.update(audit_data or {})
        audit_log_write(organization=organization, actor=actor, action="conversation.assign", target=locked, data=audit)
        hooks.conversation_assigned.send_on_commit(
            organization_id=organization.pk,
            conversation_id=locked.pk,
            assigned_to_id=locked.assigned_to_id,
            team_id=locked.team_id,
            actor_id=actor.pk if isinstance(actor, User) else None,
        )
    return locked


def _resolution_record(*, conversation: Conversation, actor: Any) -> ConversationResolution:
    """Record that `conversation` was just closed (inside the caller's transaction, under its lock of the row): its
    cycle began with the first message after the previous close, or at that close when none came since (it was
    reopened by hand), or with the conversation's first message (its creation when it has none)."""
    organization = conversation.organization
    previous = (
        ConversationResolution.objects.for_org(organization)
        .filter(conversation=conversation)
        .order_by("-closed_at")
        .values_list("closed_at", flat=True)
        .first()
    )
    messages = Message.objects.for_org(organization).filter(conversation=conversation)
    if previous is not None:
        messages = messages.filter(created_at__gt=previous)
    first = messages.order_by("created_at", "id").values_list("created_at", flat=True).first()
    opened_at = first or previous or conversation.created_at
    return ConversationResolution.objects.create(
        organization=organization,
        conversation=conversation,
        number_id=conversation.number_id,
        assigned_to_id=conversation.assigned_to_id,
        team_id=conversation.team_id,
        closed_by=actor if isinstance(actor, User) else None,
        opened_at=opened_at,
        closed_at=max(timezone.now(), opened_at),
    )


# --- sending -----------------------------------------------------------------------------------------


def _text_of(part: dict) -> str:
    """The searchable text of a Meta-shaped message part (what the inbox shows and search finds)."""
    mtype = part["type"]
    obj = part.get(mtype)
    if mtype == Message.Type.TEXT:
        return obj["body"]
    if mtype in Message.MEDIA_TYPES:
        return obj.get("caption", "")
    if mtype == Message.Type.INTERACTIVE:
        return obj["body"]["text"]
    if mtype == Message.Type.LOCATION:
        return " ".join(filter(None, [obj.get("name"), obj.get("address")]))
    if mtype == Message.Type.CONTACTS:
        return ", ".join(card["name"]["formatted_name"] for card in obj)
    if mtype == Message.Type.REACTION:
        return obj["emoji"]
    return ""


def _preview_of(part: dict, text: str) -> str:
    mtype = part["type"]
    preview = f"Template: {part['template']['name']}" if mtype == Message.Type.TEMPLATE else text or f"[{mtype}]"
    return " ".join(preview.split())[:PREVIEW_LENGTH]


def _sendable_or_error(*, conversation: Conversation, mtype: str) -> None:
    number = conversation.number
    if number.deleted_at is not None:
        raise ServiceError(
            gettext("The number of this conversation was deleted: nothing can be sent from it."),
            status_code=409,
            code="number_deleted",
        )
    if number.provider == Provider.WAHA:
        if mtype not in WAHA_SENDABLE_TYPES:
            message = gettext("A WhatsApp Web (WAHA) number cannot send %(type)s messages; use a Cloud API number.") % {
                "type": mtype
            }
            raise ServiceError(message, errors={"type": [message]})
        return  # WhatsApp Web has no customer-service window
    if mtype != Message.Type.TEMPLATE and not conversation.window_open:
        raise ServiceError(gettext(WINDOW_CLOSED_DETAIL), status_code=409, code="window_closed")
    if mtype == Message.Type.TEMPLATE and conversation.contact.opted_out:
        raise ServiceError(gettext(OPTED_OUT_DETAIL), status_code=409, code="opted_out")


def sent_message_or_error(*, messages: QuerySet[Message], message_id: int, field: str) -> Message:
    """The message `message_id` among `messages` (a conversation's) if WhatsApp knows it (it has a provider id),
    else a 400 naming `field`."""
    target = messages.filter(pk=message_id).first()
    if target is None:
        message = gettext("No such message in this conversation.")
        raise ServiceError(message, errors={field: [message]})
    if not target.provider_message_id:
        message = gettext("That message has not reached WhatsApp yet (it has no WhatsApp id).")
        raise ServiceError(message, errors={field: [message]})
    return target


def _media_for_send(
    *, conversation: Conversation, mtype: str, upload: File | None, media_id: int | None, number_ids: NumberIds
) -> Media:
    """The Media of a media message: the upload, stored now (unsaved row), or the uploaded row `media_id` (one the
    sender may see: `number_ids`)."""
    organization = conversation.organization
    if upload is not None:
        mime = mime_type_of(upload)
        media_check(mime_type=mime, size=upload.size, message_type=mtype, field="file")
        return media_store_upload(organization=organization, file=upload, mime_type=mime)
    ready = media_list(org=organization, number_ids=number_ids).filter(pk=media_id, status=Media.Status.READY)
    media = ready.exclude(file="").first()
    if media is None:
        message = gettext("No such uploaded media in this organization (upload it with POST media/ first).")
        raise ServiceError(message, errors={"media_id": [message]})
    media_check(mime_type=media.mime_type, size=media.size or 0, message_type=mtype, field="media_id")
    return media


def _media_attach(*, media: Media, message: Message) -> None:
    """Give the message its media: a new upload, an uploaded row not used yet, or else a copy of the row (a
    Media belongs to one message; the copy shares the stored file). A canned response's attachment is always copied:
    it stays the response's, to be sent again. Must be called inside a transaction."""
    if media.pk is not None:
        organization = message.organization
        kept = CannedResponse.objects.for_org(organization).filter(attachment__isnull=False).values("attachment_id")
        unused = Media.objects.for_org(organization).filter(pk=media.pk, message__isnull=True).exclude(pk__in=kept)
        if unused.update(message=message):
            return
        media = Media(
            organization=media.organization,
            mime_type=media.mime_type,
            filename=media.filename,
            size=media.size,
            sha256=media.sha256,
            file=media.file.name,
            status=Media.Status.READY,
        )
    media.message = message
    media.save()


def message_send(
    *,
    conversation: Conversation,
    sent_by: User | None,
    content: Mapping,
    number_ids: NumberIds = None,
    sender_label: str = "",
) -> Message:
    """Store an outbound message `queued` and deliver it through the number's provider after commit.

    `content` is what to send in the shape of the API's send body (`{"type": "text", "text": "Hi"}`, a template,
    media, ...): checked here by messaging.message_parts, whoever calls (the API, campaigns, automation), then
    turned into the Meta-shaped part the message stores. References are resolved here: `reply_to` (our id of a
    message in this conversation) becomes `context.message_id`, a reaction's `message_id` the target's WhatsApp
    id, a flow's `flow_id` (ours) Meta's flow id with a new flow_token (messaging.services.flows), and a
    media message gets its file from `file` (checked against WhatsApp's type and size limits, stored) or
    `media_id` (an uploaded Media row, or the file of a message on one of `number_ids`, the numbers the sender may
    see: selectors.access; None: any).
    Refused before anything is stored: content WhatsApp would refuse (400, errors named like the API's fields), a
    free-form message outside the 24-hour window (409 window_closed, not for WAHA numbers), a template to a contact
    who opted out (409 opted_out), a type the number's provider cannot send, media WhatsApp would refuse (400).
    One transaction: the message, its media, the conversation's last-message fields; then, on commit,
    message.created and conversation.updated are published, `deliver_message` is enqueued and
    hooks.outbound_message_created is announced. `sender_label` names a sender that is not a person (`sent_by`
    None), e.g. a bot: the inbox shows it on the message.
    """
    outbound = message_parts.parse(content)
    part = outbound.part
    mtype = part["type"]
    _sendable_or_error(conversation=conversation, mtype=mtype)
    reply_to_provider_id = ""
    conversation_messages = Message.objects.for_org(conversation.organization).filter(conversation=conversation)
    if outbound.reply_to_id is not None:
        reply_to_provider_id = sent_message_or_error(
            messages=conversation_messages, message_id=outbound.reply_to_id, field="reply_to"
        ).provider_message_id
        part["context"] = {"message_id": reply_to_provider_id}
    if outbound.reaction_to_id is not None:
        target = sent_message_or_error(
            messages=conversation_messages, message_id=outbound.reaction_to_id, field="reaction"
        )
        part["reaction"]["message_id"] = target.provider_message_id
    if outbound.flow_id is not None:
        flows.flow_part_fill(part=part, flow_id=outbound.flow_id, number=conversation.number)
    media = None
    if mtype in Message.MEDIA_TYPES:
        media = _media_for_send(
            conversation=conversation,
            mtype=mtype,
            upload=outbound.upload,
            media_id=outbound.media_id,
            number_ids=number_ids,
        )
        if mtype == Message.Type.DOCUMENT and media.filename and "filename" not in part[mtype]:
            part[mtype]["filename"] = media.filename
    with transaction.atomic():
        message = _message_store(
            conversation=conversation,
            sent_by=sent_by,
            part=part,
            reply_to_provider_id=reply_to_provider_id,
            sender_label=sender_label,
        )
        if media is not None:
            _media_attach(media=media, message=message)
    return message


def _message_store(
    *, conversation: Conversation, sent_by: User | None, part: dict, reply_to_provider_id: str, sender_label: str = ""
) -> Message:
    """The queued Message and the conversation's last-message fields; events and delivery on commit.

    Must be called inside a transaction.
    """
    organization = conversation.organization
    plans.usage_messages_reserve(organization=organization)  # 400 messages_limit_reached: nothing is stored
    now = timezone.now()
    text = _text_of(part)
    message = Message.objects.create(
        organization=organization,
        conversation=conversation,
        direction=Message.Direction.OUTBOUND,
        type=part["type"],
        text=text,
        payload=part,
        status=Message.Status.QUEUED,
        sent_by=sent_by if isinstance(sent_by, User) else None,
        sender_label=sender_label[:SENDER_LABEL_LENGTH],
        reply_to_provider_id=reply_to_provider_id,
        created_at=now,
    )
    # Conditional: an inbound message stored meanwhile with a later time keeps its place as the last one.
    Conversation.objects.for_org(organization).filter(pk=conversation.pk, last_message_at__lte=now).update(
        last_message_at=now,
        last_message_preview=_preview_of(part, text),
        last_message_direction=Message.Direction.OUTBOUND,
        last_message_type=part["type"],
    )
    publish_message_on_commit(message_id=message.pk, organization_id=organization.pk, event="message.created")
    publish_conversation_on_commit(conversation_id=conversation.pk, organization_id=organization.pk)
    enqueue_after_commit(delivery_tasks.deliver_message, organization.pk, message.pk)
    hooks.outbound_message_created.send_on_commit(
        organization_id=organization.pk,
        message_id=message.pk,
        conversation_id=conversation.pk,
        sent_by_id=message.sent_by_id,
    )
    return message


# --- reaching a customer first --------------------------------------------------------------------------


def _sending_number(*, organization: Organization, number_id: int, number_ids: NumberIds) -> WhatsAppNumber:
    """The organization's live number `number_id` among `number_ids`, else a 400 on number_id (a hidden number reads
    like another organization's)."""
    number = number_list(org=organization, number_ids=number_ids).filter(pk=number_id).first()
    if number is None:
        message = gettext("No such WhatsApp number in this organization.")
        raise ServiceError(message, errors={"number_id": [message]})
    return number


def _conversation_get_or_create(*, number: WhatsAppNumber, contact: Contact) -> Conversation:
    """The one conversation of the contact on the number, created when missing; a concurrent creation is found
    (unique on organization, number, contact), so two first sends share it."""
    conversation, created = Conversation.objects.for_org(number.organization).get_or_create(
        organization=number.organization, number=number, contact=contact
    )
    if created:
        hooks.conversation_created.send_on_commit(
            organization_id=number.organization_id, conversation_ids=[conversation.pk]
        )
    return conversation


@transaction.atomic
def conversation_start(
    *,
    organization: Organization,
    number_id: int,
    template: dict,
    sent_by: User | None,
    contact: Contact | None = None,
    phone: str | None = None,
    number_ids: NumberIds = None,
) -> tuple[Conversation, Message]:
    """Open (or reuse) the conversation of `contact` (or the contact of `phone`, created when new) on the number,
    with a template message sent as `message_send` does (`template`: `{name, language, components}`, checked there).

    400 for a number that is not the organization's or not among `number_ids` (the numbers the sender may see:
    selectors.access; None: all); 409 (opted_out) when the contact opted out (see `message_send`). One transaction:
    a refused template leaves no new contact or conversation behind.
    """
    number = _sending_number(organization=organization, number_id=number_id, number_ids=number_ids)
    if contact is None:
        contact = contact_get_or_create(organization=organization, phone=phone)
    conversation = _conversation_get_or_create(number=number, contact=contact)
    message = message_send(
        conversation=conversation,
        sent_by=sent_by,
        content={"type": "template", "template": template},
        number_ids=number_ids,
    )
    return conversation, message


@transaction.atomic
def message_send_to_phone(
    *,
    organization: Organization,
    number_id: int,
    to: str,
    content: Mapping,
    sent_by: User | None,
    number_ids: NumberIds = None,
) -> Message:
    """Send `content` (anything `message_send` takes) from the number to the phone `to`: its contact and their
    conversation on the number are found, or created, and the message goes out as `message_send` sends it.

    Idempotent creation: concurrent first sends to one phone share one contact and one conversation (unique
    constraints, get_or_create). Refused as `message_send` refuses, and before anything is stored: a number that is
    not the organization's or not among `number_ids` (400 on number_id), a phone that cannot be one (400 on `to`),
    free-form text to a customer whose 24-hour window is not open on a Cloud API or sandbox number, a new customer's
    included (409 window_closed: a template is needed; a WhatsApp Web number has no window), a template to a contact
    who opted out (409 opted_out). One transaction: a refused send leaves no new contact or conversation behind.
    """
    number = _sending_number(organization=organization, number_id=number_id, number_ids=number_ids)
    contact = contact_get_or_create(organization=organization, phone=phone_or_error(to, field="to"))
    conversation = _conversation_get_or_create(number=number, contact=contact)
    return message_send(conversation=conversation, sent_by=sent_by, content=content, number_ids=number_ids)


# --- delivery (the task's work) ------------------------------------------------------------------------


def _recipient(contact: Contact) -> str:
    """Who the provider sends to: the phone (E.164), else the wa_id, else Meta's business-scoped user id."""
    return contact.phone or contact.wa_id or contact.user_id or ""


def provider_error_title(exc: ProviderError) -> str:
    """Meta's title as is when Meta gave a code; otherwise the title with the detail (network, WAHA, checks)."""
    title = exc.title if exc.code is not None or not exc.detail else f"{exc.title}: {exc.detail}"
    return title[:ERROR_TITLE_LENGTH]


def _outgoing_part(*, message: Message, provider: ProviderClient) -> dict:
    """The stored part, plus the media reference (uploaded to the provider now) and our callback data.

    Meta echoes `biz_opaque_callback_data` on statuses: ingest can match a status that arrives before the
    wamid is stored (or when the worker died before storing it).
    """
    part = copy.deepcopy(message.payload)
    part["biz_opaque_callback_data"] = f"{CALLBACK_PREFIX}{message.pk}"
    mtype = part["type"]
    if mtype not in Message.MEDIA_TYPES:
        return part
    media = Media.objects.for_org(message.organization).get(message=message)
    with media.file.open("rb") as handle:
        content = handle.read()
    if provider.supports_media_upload:
        if not media.provider_media_id:
            media.provider_media_id = provider.upload_media(content, media.mime_type, media.filename or "file")
            Media.objects.for_org(message.organization).filter(pk=media.pk).update(
                provider_media_id=media.provider_media_id
            )
        part[mtype]["id"] = media.provider_media_id
    else:  # WAHA: no upload endpoint, the file goes inline
        part[mtype].update(
            {"data": base64.b64encode(content).decode(), "mime_type": media.mime_type, "filename": media.filename}
        )
    return part


def _mark_failed(*, message: Message, code: int | None, title: str) -> None:
    with transaction.atomic():
        if messages_mark_failed(organization_id=message.organization_id, failed={message.pk: (code, title)}):
            publish_message_on_commit(
                message_id=message.pk, organization_id=message.organization_id, event="message.updated"
            )


def _mark_sent(*, message: Message, provider_message_id: str | None) -> None:
    """Store the provider's id and move queued → sent (a status that arrived first is kept: only forward)."""
    with transaction.atomic():
        messages_mark_sent(organization_id=message.organization_id, sent={message.pk: provider_message_id})
        publish_message_on_commit(
            message_id=message.pk, organization_id=message.organization_id, event="message.updated"
        )


def message_provider_send(*, message: Message, provider: ProviderClient, contact: Contact) -> SendResult:
    """The provider call of a claimed outbound message (its stored part, media uploaded, our callback data), made
    outside any transaction; ProviderError when it is refused or cannot be made (Media.DoesNotExist or
    FileNotFoundError when the file of a media message is gone)."""
    return provider.send(_recipient(contact), _outgoing_part(message=message, provider=provider))


def message_deliver(*, organization_id: int, message_id: int, attempt: int = 1) -> None:
    """Send a queued outbound message through its number's provider (the `deliver_message` task's work).

    Idempotent: a message that already has a provider id, or is not queued, is left alone; the message is
    claimed with a conditional update of `attempts` to `attempt` (the 1-based try, stamped `attempted_at`), so
    two copies of the same try cannot both send. The provider is called outside any transaction. A retryable
    provider error raises RetryLater (backoff with jitter) until MAX_ATTEMPTS; any other error marks the message
    failed with the provider's code and title.
    """
    message = (
        Message.objects.select_related("organization", "conversation__number", "conversation__contact")
        .filter(organization_id=organization_id, pk=message_id, direction=Message.Direction.OUTBOUND)
        .first()
    )
    if message is None or message.provider_message_id or message.status != Message.Status.QUEUED:
        return
    claimed = (
        Message.objects.for_org(message.organization)
        .filter(pk=message.pk, status=Message.Status.QUEUED, provider_message_id__isnull=True, attempts__lt=attempt)
        .update(attempts=attempt, attempted_at=timezone.now())
    )
    if not claimed:
        return
    conversation = message.conversation
    provider = provider_for(conversation.number)
    try:
        result = message_provider_send(message=message, provider=provider, contact=conversation.contact)
    except (Media.DoesNotExist, FileNotFoundError):
        _mark_failed(message=message, code=None, title="The media file of this message is missing.")
        return
    except ProviderError as exc:
        _connection_failed(number=conversation.number, exc=exc)
        if exc.retryable and attempt < MAX_ATTEMPTS:
            logger.info("message %s: attempt %s failed (%r), retrying", message.pk, attempt, exc)
            metrics.delivery_retried(exc.code)
            raise RetryLater(backoff_countdown(attempt)) from exc
        _mark_failed(message=message, code=exc.code, title=provider_error_title(exc))
        return
    _mark_sent(message=message, provider_message_id=result.provider_message_id)
    integration_ok(
        organization_id=organization_id, kind=IntegrationKind.WHATSAPP_NUMBER, object_id=conversation.number_id
    )
    if conversation.number.provider == Provider.SANDBOX and result.provider_message_id:
        sandbox_play_back(
            message=message,
            number=conversation.number,
            contact=conversation.contact,
            provider_message_id=result.provider_message_id,
        )


def _connection_failed(*, number: WhatsAppNumber, exc: ProviderError) -> None:
    """Record for Settings > Integrations an error that says the number's connection is broken (not one message's)."""
    code = connection_error_code(exc)
    if code is not None:
        integration_failed(
            organization_id=number.organization_id,
            kind=IntegrationKind.WHATSAPP_NUMBER,
            object_id=number.pk,
            error_code=code,
            http_status=exc.http_status,
        )


def sandbox_play_back(*, message: Message, number: WhatsAppNumber, contact: Contact, provider_message_id: str) -> None:
    """What Meta would post next for a message the sandbox accepted (to `contact` from `number`), through the same
    ingest path: sent, delivered, read (a reaction: sent)."""
    payloads = status_webhooks_for(
        number.phone_number_id or "sandbox",
        provider_message_id,
        recipient_id=contact.wa_id or contact.phone,
        statuses=("sent",) if message.type == Message.Type.REACTION else ("sent", "delivered", "read"),
        category="marketing" if message.type == Message.Type.TEMPLATE else "service",
    )
    for payload in payloads:
        ingest.sandbox_webhook_store(number=number, payload=payload)


# --- many sends at once (campaigns) ------------------------------------------------------------------------
#
# A broadcast stores its messages in bulk, claimed for their first attempt as they are stored (attempts 1, stamped
# attempted_at: delivery's claim), makes the provider calls itself (message_provider_send, paced and concurrent), and
# records the outcomes in bulk. The rows are those message_send stores; the outcomes move them as delivery does.


def messages_store_batch(*, number: WhatsAppNumber, parts: list[tuple[Contact, dict]]) -> list[Message]:
    """Store one outbound message per (contact, Meta-shaped part, as message_parts checks it) from `number`, queued
    and claimed for attempt 1 (only the caller sends them; delivery's sweeper takes one over only after
    `claimed_grace()`), with each contact's conversation got or created and its last-message fields set. The
    contacts are distinct (one message each). A fixed number of queries whatever the number of messages, each one
    statement of many rows (ingest.rows); no event is published (the caller publishes what it wants) and nothing is
    queued (hooks.conversation_created is told of the conversations it created). Returns the messages, in the order
    of `parts`. The caller counts them against the plan's monthly messages first (accounts.plans
    .usage_messages_reserve, as campaigns' claims do). Must be called inside a transaction."""
    if not parts:
        return []
    organization = number.organization
    now = timezone.now()
    contact_ids = [contact.pk for contact, _ in parts]
    if len(set(contact_ids)) != len(contact_ids):
        raise ValueError("messages_store_batch takes one message per contact")
    created = rows.insert(
        Conversation,
        ["number_id", "contact_id", "last_message_at"],
        [(number.pk, pk, now) for pk in contact_ids],
        constants={"organization_id": organization.pk},
        conflict=["organization", "number", "contact"],  # an existing conversation is kept
        returning=["id"],  # the new ones only
    )
    if created:
        hooks.conversation_created.send_on_commit(
            organization_id=organization.pk, conversation_ids=[pk for (pk,) in created]
        )
    conversation_of = dict(
        Conversation.objects.for_org(organization)
        .filter(number=number, contact_id__in=contact_ids)
        .values_list("contact_id", "pk")
    )
    fields = ("conversation_id", "direction", "type", "text", "payload", "status", "attempts", "attempted_at")
    values = [
        (conversation_of[contact.pk], Message.Direction.OUTBOUND, part["type"], _text_of(part), part, "queued", 1, now)
        for contact, part in parts
    ]
    constants = {"organization_id": organization.pk, "created_at": now}
    # One message per conversation here: the conversation tells which id each row got.
    id_of = dict(rows.insert(Message, fields, values, constants=constants, returning=["conversation_id", "id"]))
    messages = rows.instances(Message, ("id", *fields), [(id_of[row[0]], *row) for row in values], constants=constants)
    previews: dict[tuple[str, str], list[int]] = defaultdict(list)
    for message in messages:
        previews[(_preview_of(message.payload, message.text), message.type)].append(message.conversation_id)
    for (preview, mtype), conversation_ids in previews.items():
        # Conditional, as for one message: an inbound message stored meanwhile with a later time stays the last one.
        Conversation.objects.for_org(organization).filter(pk__in=conversation_ids, last_message_at__lte=now).update(
            last_message_at=now,
            last_message_preview=preview,
            last_message_direction=Message.Direction.OUTBOUND,
            last_message_type=mtype,
        )
    return messages


def messages_mark_sent(*, organization_id: int, sent: Mapping[int, str | None]) -> list[tuple[int, str, None]]:
    """Give outbound messages (ids) the provider's id they were sent with and move those still queued to sent (a
    status that arrived first is kept: only forward); message_status_changed is announced after commit. Returns
    the changes made. Three statements whatever the number of messages. Must be called inside a transaction."""
    scoped = Message.objects.filter(organization_id=organization_id, direction=Message.Direction.OUTBOUND)
    locked = list(
        scoped.filter(pk__in=list(sent))
        .select_for_update()
        .order_by("pk")
        .values_list("pk", "status", "provider_message_id")
    )
    wamids = [(pk, sent[pk]) for pk, _, current in locked if current is None and sent[pk]]
    if wamids:
        rows.update(Message, ["id", "provider_message_id"], wamids)
    moved = [pk for pk, status, _ in locked if status == Message.Status.QUEUED]
    if not moved:
        return []
    scoped.filter(pk__in=moved).update(status=Message.Status.SENT, status_updated_at=timezone.now())
    changes = [(pk, Message.Status.SENT, None) for pk in moved]
    hooks.message_status_changed.send_on_commit(organization_id=organization_id, changes=changes)
    return changes


def messages_mark_failed(
    *, organization_id: int, failed: Mapping[int, tuple[int | None, str]]
) -> list[tuple[int, str, int | None]]:
    """Fail outbound messages still queued (ids) with the provider's code and title; message_status_changed is
    announced after commit. Returns the changes made. Must be called inside a transaction."""
    scoped = Message.objects.filter(organization_id=organization_id, direction=Message.Direction.OUTBOUND)
    queued = scoped.filter(pk__in=list(failed), status=Message.Status.QUEUED)
    moved = sorted(queued.select_for_update().values_list("pk", flat=True))
    if not moved:
        return []
    now = timezone.now()
    by_error: dict[tuple[int | None, str], list[int]] = defaultdict(list)
    for pk in moved:
        code, title = failed[pk]
        by_error[(code, title[:ERROR_TITLE_LENGTH])].append(pk)
    for (code, title), ids in by_error.items():
        scoped.filter(pk__in=ids).update(
            status=Message.Status.FAILED, error_code=code, error_title=title, status_updated_at=now
        )
    changes = [(pk, Message.Status.FAILED, failed[pk][0]) for pk in moved]
    hooks.message_status_changed.send_on_commit(organization_id=organization_id, changes=changes)
    system_log.messages_failed(organization_id=organization_id, failed=[(pk, *failed[pk]) for pk in moved])
    return changes


def messages_discard_unsent(*, organization_id: int, message_ids: list[int]) -> int:
    """Delete outbound messages that never reached the provider (their send was never made, or the provider
    refused it): still queued, without a provider id. Returns how many."""
    deleted, _ = Message.objects.filter(
        organization_id=organization_id,
        pk__in=message_ids,
        direction=Message.Direction.OUTBOUND,
        status=Message.Status.QUEUED,
        provider_message_id__isnull=True,
    ).delete()
    return deleted


# --- delivery sweeper: messages left queued -----------------------------------------------------------------

# Meta's `sent` status names the message in its callback data, so a send whose worker died before storing the
# wamid leaves `queued` on its own (ingest links it); this leaves that status time to arrive.
STATUS_WEBHOOK_MARGIN = timedelta(minutes=10)
SWEEP_BATCH_SIZE = 200
INTERRUPTED_TITLE = "Delivery was interrupted and could not be confirmed; send it again."
# WAHA echoes no callback data: a send it may have accepted is never confirmed, so it is not repeated.
INTERRUPTED_WAHA_TITLE = (
    "Delivery through WhatsApp Web was interrupted and could not be confirmed; check the chat before sending it again."
)


def claimed_grace() -> timedelta:
    """How long after its claim an attempt may still be sending or waiting for its retry, plus the margin for
    Meta's status."""
    return attempt_grace() + STATUS_WEBHOOK_MARGIN


def _stuck(now: datetime) -> Q:
    return Q(
        direction=Message.Direction.OUTBOUND, status=Message.Status.QUEUED, provider_message_id__isnull=True
    ) & stalled(now, grace=claimed_grace())


def _interrupted_title(message: Message) -> str | None:
    """Why the message is failed instead of sent again, or None when it may be sent again."""
    if message.attempts >= MAX_ATTEMPTS:
        return INTERRUPTED_TITLE
    if message.attempts and message.conversation.number.provider == Provider.WAHA:
        return INTERRUPTED_WAHA_TITLE
    return None


def message_deliveries_sweep(*, limit: int = SWEEP_BATCH_SIZE) -> int:
    """Deal with up to `limit` outbound messages stuck in `queued` without a provider id (the beat task's work);
    returns how many it took.

    Never claimed within UNCLAIMED_GRACE: delivery is queued again (attempt 1). Last claimed longer ago than
    `claimed_grace()`: the attempt was interrupted (its worker died) or its retry was lost, and as no status of
    Meta has linked it since, Meta most likely never accepted it: the next attempt is queued; out of attempts
    (or on WAHA, where a send cannot be confirmed) the message is marked failed.
    One transaction: the rows are locked (SKIP LOCKED: concurrent sweeps take different ones) and stamped, so the
    next sweep waits a grace again; the tasks are queued after commit. Every attempt is still claimed by
    message_deliver, so no attempt is ever sent twice.
    """
    now = timezone.now()
    with transaction.atomic():
        stuck = list(
            Message.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("organization", "conversation__number")
            .filter(_stuck(now))
            .order_by("id")[:limit]
        )
        requeued: dict[int, list[Message]] = defaultdict(list)
        for message in stuck:
            title = _interrupted_title(message)
            if title is None:
                requeued[message.organization_id].append(message)
            else:
                _mark_failed(message=message, code=None, title=title)
        for messages in requeued.values():
            Message.objects.for_org(messages[0].organization).filter(
                _stuck(now), pk__in=[message.pk for message in messages]
            ).update(attempted_at=now)
        requeued_ids = []
        for messages in requeued.values():
            for message in messages:
                requeued_ids.append(message.pk)
                task = delivery_tasks.deliver_message
                enqueue_after_commit(task, message.organization_id, message.pk, first_attempt=message.attempts + 1)
    if stuck:
        logger.warning(
            "delivery sweeper: %d stuck messages, %d queued again: %s",
            len(stuck),
            len(requeued_ids),
            [message.pk for message in stuck][:20],
        )
    return len(stuck)


# --- read receipts -------------------------------------------------------------------------------------


@transaction.atomic
def conversation_mark_read(*, conversation: Conversation) -> Conversation:
    """Zero the unread count; when it changed, publish conversation.updated and, after commit, send WhatsApp's
    read receipt for the conversation's last inbound message (which also marks the earlier ones read)."""
    organization = conversation.organization
    changed = (
        Conversation.objects.for_org(organization).filter(pk=conversation.pk, unread_count__gt=0).update(unread_count=0)
    )
    conversation.unread_count = 0
    if changed:
        publish_conversation_on_commit(conversation_id=conversation.pk, organization_id=organization.pk)
        last_inbound = (
            Message.objects.for_org(organization)
            .filter(conversation=conversation, direction=Message.Direction.INBOUND, provider_message_id__isnull=False)
            .order_by("-id")
            .values_list("pk", flat=True)
            .first()
        )
        if last_inbound is not None:
            enqueue_after_commit(delivery_tasks.send_read_receipt, organization.pk, last_inbound)
    return conversation


def message_send_read_receipt(*, organization_id: int, message_id: int, attempt: int = 1) -> None:
    """Tell the provider an inbound message was read (the `send_read_receipt` task's work).

    Retryable errors raise RetryLater until MAX_ATTEMPTS; a permanent one is logged (a receipt is a courtesy:
    nothing to store).
    """
    message = (
        Message.objects.select_related("conversation__number", "conversation__contact")
        .filter(
            organization_id=organization_id,
            pk=message_id,
            direction=Message.Direction.INBOUND,
            provider_message_id__isnull=False,
        )
        .first()
    )
    if message is None:
        return
    contact = message.conversation.contact
    try:
        provider_for(message.conversation.number).mark_read(
            message.provider_message_id, chat=contact.wa_id or contact.phone or None
        )
    except ProviderError as exc:
        if exc.retryable and attempt < MAX_ATTEMPTS:
            raise RetryLater(backoff_countdown(attempt)) from exc
        logger.warning("read receipt for message %s refused: %r", message.pk, exc)
