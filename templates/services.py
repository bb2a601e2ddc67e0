"""Every write of the templates app: syncing a WABA's templates from Meta, creating (checked, then submitted) and
deleting templates, sending one (a test to a phone, or into a conversation), and applying Meta's template webhooks.

Meta is called outside any transaction; what it answered is then stored in one. Side effects (the sync task, the
live `template.updated` push, the sandbox's review webhook) run after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from accounts.models import Organization, SystemLog, User
from accounts.services import SystemLogEntry, audit_log_write, system_logs_write
from messaging import realtime
from messaging.models import Conversation, Media, Message, Provider, WhatsAppNumber
from messaging.providers import SANDBOX_WABA_ID, ProviderError, provider_for, template_status_webhook_for
from messaging.selectors.access import NumberIds
from messaging.selectors.conversations import media_list
from messaging.selectors.numbers import number_list
from messaging.services import ingest
from messaging.services.conversations import conversation_update, message_send, message_send_to_phone
from messaging.services.media import mime_type_of
from templates import rendering, selectors, tasks
from templates.models import MessageTemplate, TemplateSync
from templates.serializers import template_data
from templates.validation import template_validate
from whatsapp_hub.aftercommit import enqueue_after_commit, run_after_commit
from whatsapp_hub.errors import ServiceError

logger = logging.getLogger(__name__)

Status = MessageTemplate.Status
# What a sync asks Meta for, and how many templates a page.
SYNC_FIELDS = "id,name,language,category,sub_category,status,parameter_format,components,rejected_reason,quality_score"
SYNC_PAGE_SIZE = 100
# A WABA holds at most 6,000 templates: more pages than that means Meta's cursors go round in circles.
SYNC_MAX_PAGES = 6000 // SYNC_PAGE_SIZE + 10
# The fields a sync writes (the rest is the hub's own: who created it, when).
SYNCED_FIELDS = [
    "waba_id",
    "name",
    "language",
    "category",
    "sub_category",
    "status",
    "parameter_format",
    "components",
    "rejected_reason",
    "quality_score",
]
# Meta's error subcodes: a creation whose name and language the WABA has already; a deletion of a template it has not.
ALREADY_EXISTS_SUBCODE = 2388024
NOT_FOUND_SUBCODE = 2593002
# Webhook events that are not a status of their own.
EVENT_STATUSES = {"REINSTATED": Status.APPROVED, "UNARCHIVED": Status.APPROVED}
# At most this many templates per pushed event.
PUSH_CHUNK = 100
# The keys of Meta's template webhooks that name the template; any other `message_template_*` key is a component's
# (message_template_components_update).
NAMING_KEYS = frozenset(
    {"message_template_id", "message_template_name", "message_template_language", "message_template_category"}
)


def _user(actor: Any) -> User | None:
    return actor if isinstance(actor, User) else None


# --- live pushes ------------------------------------------------------------------------------------------------


def _push(organization_id: int, template_ids: list[int]) -> None:
    rows = selectors.template_rows(org=Organization(pk=organization_id)).filter(pk__in=template_ids).order_by("id")
    data = [template_data(template) for template in rows]
    events: list[realtime.Event] = [
        ("template.updated", {"templates": data[start : start + PUSH_CHUNK]}, realtime.ORGANIZATION_WIDE)
        for start in range(0, len(data), PUSH_CHUNK)
    ]
    realtime.publish(organization_id, events)


def publish_templates_on_commit(*, organization_id: int, template_ids: Iterable[int]) -> None:
    """`template.updated` with these templates (as the API shows them, read after commit) to every socket of the
    organization: a templates page open anywhere shows the change without a reload."""
    ids = sorted(set(template_ids))
    if ids:
        run_after_commit(partial(_push, organization_id, ids), what="push template.updated")


# --- which number speaks for a WABA ----------------------------------------------------------------------------


def _number_error(message: str) -> ServiceError:
    return ServiceError(message, errors={"number_id": [message]})


def _template_number(*, organization: Organization, number_id: int | None, number_ids: NumberIds) -> WhatsAppNumber:
    """The number whose WABA gets a new template: `number_id` (a live number of the organization among
    `number_ids`, with templates), else the first of the organization's numbers that has templates."""
    wabas = selectors.template_wabas(org=organization, number_ids=number_ids)
    if number_id is None:
        if not wabas:
            raise _number_error(
                gettext("Connect a Cloud API number (or add a sandbox number) first: templates belong to its account.")
            )
        return wabas[0][1]
    number = number_list(org=organization, number_ids=number_ids).filter(pk=number_id).first()
    if number is None:
        raise _number_error(gettext("No such WhatsApp number in this organization."))
    if selectors.number_waba_id(number) is None:
        raise _number_error(
            gettext(
                "This number has no templates: a WhatsApp Web number sends none, and a Cloud number needs its waba_id."
            )
        )
    return number


def _meta_error(exc: ProviderError, *, action: str) -> ServiceError:
    """A refusal as the API's 4xx: Meta's (its title and details, Meta's documented fields), or the client's own
    before any request (an unsupported file, no app id); no answer at all (network, 5xx, throttling) as a 502 saying
    to try again."""
    logger.warning("template %s refused: %r", action, exc)
    if exc.retryable or (exc.http_status or 0) >= 500:
        return ServiceError(
            gettext("Meta did not answer (%(title)s): nothing was changed, try again in a moment.")
            % {"title": exc.title},
            status_code=502,
            code="meta_unavailable",
        )
    if exc.http_status is None:
        return ServiceError(f"{exc.title}: {exc.detail}" if exc.detail else exc.title, code="refused")
    detail = gettext("Meta refused: %(title)s.") % {"title": exc.title}
    if exc.detail:
        detail = f"{detail} {exc.detail}"
    subcode = exc.raw.get("error", {}).get("error_subcode") if isinstance(exc.raw, dict) else None
    if subcode == ALREADY_EXISTS_SUBCODE:
        return ServiceError(detail, errors={"name": [detail]}, code="meta_refused")
    return ServiceError(detail, code="meta_refused")


# --- sync ------------------------------------------------------------------------------------------------------


@transaction.atomic
def template_sync_request(
    *,
    organization: Organization,
    actor: Any = None,
    number_id: int | None = None,
    number_ids: NumberIds = None,
    waba_id: str | None = None,
) -> list[TemplateSync]:
    """Queue a sync of the templates of each WABA of the organization's live Cloud numbers among `number_ids` (or
    of `number_id`'s WABA, or of `waba_id`); the task runs after commit. A sync of a WABA already queued and not
    started is reused, not queued twice. 400 when there is nothing to sync from (no Cloud number; a sandbox number,
    whose templates live in the hub; a WhatsApp Web number)."""
    if waba_id is not None:
        wabas = [waba_id]
    elif number_id is not None:
        number = number_list(org=organization, number_ids=number_ids).filter(pk=number_id).first()
        if number is None:
            raise _number_error(gettext("No such WhatsApp number in this organization."))
        if number.provider != Provider.CLOUD or not number.waba_id:
            raise _number_error(
                gettext(
                    "Only Cloud API numbers with a waba_id have templates at Meta to sync: sandbox templates live here."
                )
            )
        wabas = [number.waba_id]
    else:
        wabas = [
            waba
            for waba, number in selectors.template_wabas(org=organization, number_ids=number_ids)
            if number.provider == Provider.CLOUD
        ]
        if not wabas:
            raise _number_error(gettext("No Cloud API number to sync templates from: connect one first."))
    syncs = []
    for waba in wabas:
        sync = (
            selectors.template_sync_list(org=organization)
            .filter(waba_id=waba, status=TemplateSync.Status.QUEUED)
            .first()
        )
        if sync is None:
            sync = TemplateSync.objects.create(organization=organization, waba_id=waba, requested_by=_user(actor))
            enqueue_after_commit(tasks.sync_templates, organization.pk, sync.pk)
        syncs.append(sync)
    return syncs


def template_syncs_schedule() -> int:
    """Queue a sync of every WABA of every active organization's live Cloud numbers (the beat task's work); returns
    how many WABAs."""
    count = 0
    for organization_id, waba_id in selectors.cloud_wabas():
        template_sync_request(organization=Organization(pk=organization_id), waba_id=waba_id)
        count += 1
    return count


def _listed(organization: Organization, waba_id: str, item: Any, now) -> MessageTemplate | None:
    if not isinstance(item, dict) or not item.get("id") or not item.get("name") or not item.get("language"):
        return None
    quality = item.get("quality_score")
    quality = quality.get("score") if isinstance(quality, dict) else quality
    rejected = str(item.get("rejected_reason") or "")
    return MessageTemplate(
        organization=organization,
        waba_id=waba_id,
        meta_id=str(item["id"])[:64],
        name=str(item["name"])[:512],
        language=str(item["language"]).replace("-", "_")[:16],
        category=str(item.get("category") or "").upper()[:16],
        sub_category=str(item.get("sub_category") or "")[:32],
        status=str(item.get("status") or Status.PENDING).upper()[:20],
        parameter_format=str(item.get("parameter_format") or "POSITIONAL").upper()[:10],
        components=item.get("components") if isinstance(item.get("components"), list) else [],
        rejected_reason="" if rejected == "NONE" else rejected[:1000],
        quality_score=quality if quality in MessageTemplate.Quality.values else MessageTemplate.Quality.UNKNOWN,
        last_synced_at=now,
        deleted_at=None,
        created_at=now,
        updated_at=now,
    )


def _sync_fail(sync: TemplateSync, error: str) -> None:
    with transaction.atomic():
        TemplateSync.objects.filter(pk=sync.pk).update(
            status=TemplateSync.Status.FAILED, error=error[:500], finished_at=timezone.now()
        )
        sync.refresh_from_db()
        audit_log_write(
            organization=sync.organization,
            actor=sync.requested_by,
            action="template.sync",
            target=sync,
            data={"waba_id": sync.waba_id, "status": sync.status, "pages": sync.pages, "error": sync.error},
        )


TEMPLATE_REJECTED = gettext_noop("Meta rejected the template %(name)s (%(language)s): %(reason)s")
NO_REASON = gettext_noop("no reason given")


def _log_rejected(organization_id: int, templates: Iterable[MessageTemplate]) -> None:
    """The system log tells the admins of templates that became rejected (after the commit)."""
    system_logs_write(
        entries=[
            SystemLogEntry(
                organization_id,
                SystemLog.Level.WARNING,
                SystemLog.Category.INTEGRATION,
                TEMPLATE_REJECTED,
                details={
                    "name": template.name,
                    "language": template.language,
                    "reason": template.rejected_reason or NO_REASON,
                    "template_id": template.pk,
                },
                related=("message_template", template.pk),
            )
            for template in templates
        ]
    )


def _sync_apply(sync: TemplateSync, rows: dict[str, MessageTemplate]) -> None:
    """Write Meta's listing in one transaction: upsert on (organization, meta_id) (ON CONFLICT: a concurrent sync
    cannot duplicate a row), then mark the WABA's templates Meta no longer lists as deleted. A template created
    after the listing began is not marked (Meta listed before it existed)."""
    organization, now = sync.organization, timezone.now()
    with transaction.atomic():
        scoped = selectors.template_rows(org=organization)
        before = {
            meta_id: values
            for meta_id, *values in scoped.filter(meta_id__in=list(rows)).values_list(
                "meta_id", *SYNCED_FIELDS, "deleted_at"
            )
        }
        created = [meta_id for meta_id in rows if meta_id not in before]
        updated = [
            meta_id
            for meta_id, row in rows.items()
            if meta_id in before and before[meta_id] != [*(getattr(row, name) for name in SYNCED_FIELDS), None]
        ]
        MessageTemplate.objects.bulk_create(
            list(rows.values()),
            batch_size=500,
            update_conflicts=True,
            unique_fields=["organization", "meta_id"],
            update_fields=[*SYNCED_FIELDS, "last_synced_at", "deleted_at", "updated_at"],
        )
        gone = (
            scoped.live().filter(waba_id=sync.waba_id, created_at__lt=sync.started_at).exclude(meta_id__in=list(rows))
        )
        gone_ids = list(gone.values_list("pk", flat=True))
        scoped.filter(pk__in=gone_ids).update(deleted_at=now, status=Status.DELETED, updated_at=now)
        TemplateSync.objects.filter(pk=sync.pk).update(
            status=TemplateSync.Status.SUCCEEDED,
            created=len(created),
            updated=len(updated),
            deleted=len(gone_ids),
            finished_at=now,
        )
        sync.refresh_from_db()
        if sync.requested_by_id or created or updated or gone_ids:
            audit_log_write(
                organization=organization,
                actor=sync.requested_by,
                action="template.sync",
                target=sync,
                data={
                    "waba_id": sync.waba_id,
                    "status": sync.status,
                    "pages": sync.pages,
                    "created": sync.created,
                    "updated": sync.updated,
                    "deleted": sync.deleted,
                },
            )
        status_at = SYNCED_FIELDS.index("status")
        rejected = [
            meta_id
            for meta_id, row in rows.items()
            if row.status == Status.REJECTED
            and (meta_id not in before or before[meta_id][status_at] != Status.REJECTED)
        ]
        if rejected:
            _log_rejected(organization.pk, scoped.filter(meta_id__in=rejected).order_by("pk"))
        changed = set(created) | set(updated)
        changed_ids = list(scoped.filter(meta_id__in=list(changed)).values_list("pk", flat=True)) if changed else []
        publish_templates_on_commit(organization_id=organization.pk, template_ids=[*changed_ids, *gone_ids])


def template_sync_run(*, organization_id: int, sync_id: int) -> None:
    """Run a queued sync (the `sync_templates` task's work): every page of Meta's listing of the WABA, cursor after
    cursor until Meta gives none, then one transaction writes it all (`_sync_apply`). Progress (`pages`) shows while
    it runs. A page Meta refuses ends the sync `failed` with Meta's title and nothing written. Idempotent: only a
    queued sync is claimed (a conditional update), and writing the same listing twice changes nothing."""
    now = timezone.now()
    claimed = TemplateSync.objects.filter(
        organization_id=organization_id, pk=sync_id, status=TemplateSync.Status.QUEUED
    ).update(status=TemplateSync.Status.RUNNING, started_at=now)
    if not claimed:
        return
    sync = TemplateSync.objects.select_related("organization", "requested_by").get(
        organization_id=organization_id, pk=sync_id
    )
    number = selectors.waba_cloud_number(org=sync.organization, waba_id=sync.waba_id)
    if number is None:
        _sync_fail(sync, gettext("No live Cloud API number of this organization has this WhatsApp Business Account."))
        return
    provider = provider_for(number)
    rows: dict[str, MessageTemplate] = {}
    after, pages, seen = None, 0, set()
    while True:
        try:
            page = provider.list_templates(after=after, limit=SYNC_PAGE_SIZE, fields=SYNC_FIELDS)
        except ProviderError as exc:
            logger.warning("template sync %s: page %s refused: %r", sync.pk, pages + 1, exc)
            label = f"{exc.title} ({exc.code})" if exc.code is not None else exc.title
            _sync_fail(
                sync,
                gettext("Meta refused page %(page)d of the listing: %(error)s. Nothing was changed.")
                % {"page": pages + 1, "error": label},
            )
            return
        pages += 1
        for item in page.items:
            row = _listed(sync.organization, sync.waba_id, item, now)
            if row is not None:
                rows[row.meta_id] = row
        TemplateSync.objects.filter(pk=sync.pk).update(pages=pages)
        sync.pages = pages
        after = page.after
        if after is None:
            break
        if after in seen or pages >= SYNC_MAX_PAGES:
            _sync_fail(sync, gettext("Meta's listing did not end (its cursors repeat). Nothing was changed."))
            return
        seen.add(after)
    _sync_apply(sync, rows)


# --- create and delete -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _HeaderFile:
    content: bytes
    mime_type: str
    filename: str


def _header_file(
    *, organization: Organization, upload: File | None, media_id: int | None, number_ids: NumberIds
) -> _HeaderFile | None:
    """The example of a media header: an uploaded file, or an uploaded media of the organization (`media_id`, one
    the caller may see)."""
    if upload is not None and media_id is not None:
        message = gettext("Give header_file or header_media_id, not both.")
        raise ServiceError(message, errors={"header_file": [message]})
    if upload is not None:
        return _HeaderFile(upload.read(), mime_type_of(upload), (upload.name or "header").rsplit("/", 1)[-1][:200])
    if media_id is None:
        return None
    media = media_list(org=organization, number_ids=number_ids).filter(pk=media_id, status=Media.Status.READY)
    media = media.exclude(file="").first()
    if media is None:
        message = gettext("No such uploaded media in this organization (upload it with POST media/ first).")
        raise ServiceError(message, errors={"header_media_id": [message]})
    try:
        with media.file.open("rb") as handle:
            content = handle.read()
    except FileNotFoundError:
        message = gettext("The file of this media is missing: upload it again.")
        raise ServiceError(message, errors={"header_media_id": [message]}) from None
    return _HeaderFile(content, media.mime_type, media.filename or "header")


def template_create(
    *,
    organization: Organization,
    actor: Any,
    name: Any,
    language: Any,
    category: Any,
    components: Any,
    parameter_format: Any = MessageTemplate.ParameterFormat.POSITIONAL,
    number_id: int | None = None,
    header_file: File | None = None,
    header_media_id: int | None = None,
    number_ids: NumberIds = None,
) -> MessageTemplate:
    """Check a new template as Meta would (templates.validation: a 400 naming each mistake), upload a media
    header's example for its handle, submit it to the WABA of `number_id` (default: the organization's first
    number with templates) and store what Meta answered (PENDING, with Meta's id). Meta's refusal is a 4xx with
    Meta's words and nothing stored (502 when Meta did not answer). On a sandbox number the sandbox reviews it:
    after the commit an APPROVED `message_template_status_update` goes through the normal webhook ingest.
    Audited as template.create; template.updated is pushed after commit."""
    number = _template_number(organization=organization, number_id=number_id, number_ids=number_ids)
    waba_id = selectors.number_waba_id(number)
    example = _header_file(
        organization=organization, upload=header_file, media_id=header_media_id, number_ids=number_ids
    )
    draft = template_validate(
        name=name,
        language=language,
        category=category,
        components=components,
        parameter_format=parameter_format,
        upload_type=example.mime_type if example else None,
    )
    if (
        selectors.template_list(org=organization)
        .filter(waba_id=waba_id, name=draft.name, language=draft.language)
        .exists()
    ):
        message = gettext("This account already has a template %(name)s in %(language)s.") % {
            "name": draft.name,
            "language": draft.language,
        }
        raise ServiceError(message, errors={"name": [message]}, code="template_exists")
    provider = provider_for(number)
    components = draft.components
    try:
        if example is not None:
            handle = provider.upload_template_media(example.content, example.mime_type, example.filename)
            header = draft.header()
            header["example"] = {"header_handle": [handle]}
        answer = provider.create_template(
            name=draft.name,
            language=draft.language,
            category=draft.category,
            components=components,
            parameter_format=draft.parameter_format.lower(),
        )
    except ProviderError as exc:
        raise _meta_error(exc, action="create") from exc
    meta_id = str(answer.get("id") or "")
    if not meta_id:
        raise ServiceError(gettext("Meta's answer had no template id."), status_code=502, code="meta_unavailable")
    status = str(answer.get("status") or Status.PENDING).upper()
    with transaction.atomic():
        # The review's webhook may have come first (and made the row through a sync): then it keeps its status.
        template, created = MessageTemplate.objects.get_or_create(
            organization=organization,
            meta_id=meta_id,
            defaults={
                "waba_id": waba_id,
                "name": draft.name,
                "language": draft.language,
                "category": str(answer.get("category") or draft.category).upper(),
                "status": status if status in Status.values else Status.PENDING,
                "parameter_format": draft.parameter_format,
                "components": components,
                "created_by": _user(actor),
            },
        )
        audit_log_write(
            organization=organization,
            actor=actor,
            action="template.create",
            target=template,
            data={"name": template.name, "language": template.language, "waba_id": waba_id, "meta_id": meta_id},
        )
        publish_templates_on_commit(organization_id=organization.pk, template_ids=[template.pk])
        if number.provider == Provider.SANDBOX and created:
            run_after_commit(partial(_sandbox_review, number, template), what="sandbox template review")
    return template


def _sandbox_review(number: WhatsAppNumber, template: MessageTemplate) -> None:
    """The sandbox approves what it is given: Meta's review webhook, stored and ingested like Meta's."""
    payload = template_status_webhook_for(
        template.meta_id, name=template.name, language=template.language, category=template.category
    )
    ingest.sandbox_webhook_store(number=number, payload=payload)


def template_delete(*, template: MessageTemplate, actor: Any) -> None:
    """Delete the template at Meta (DELETE …/message_templates?name=…&hsm_id=…: this language only) and mark it
    deleted here (kept for the history of what used it). Already deleted: nothing to do. Meta not knowing it any
    more counts as deleted. Audited as template.delete; template.updated is pushed after commit."""
    if template.deleted_at is not None:
        return
    organization = template.organization
    if template.waba_id != SANDBOX_WABA_ID:
        number = selectors.waba_cloud_number(org=organization, waba_id=template.waba_id)
        if number is None:
            raise ServiceError(
                gettext("No Cloud API number of this organization has this template's account any more."),
                status_code=409,
                code="no_number",
            )
        try:
            provider_for(number).delete_template(template.name, hsm_id=template.meta_id)
        except ProviderError as exc:
            subcode = exc.raw.get("error", {}).get("error_subcode") if isinstance(exc.raw, dict) else None
            if subcode != NOT_FOUND_SUBCODE:
                raise _meta_error(exc, action="delete") from exc
    with transaction.atomic():
        now = timezone.now()
        changed = (
            selectors.template_rows(org=organization)
            .filter(pk=template.pk, deleted_at__isnull=True)
            .update(deleted_at=now, status=Status.DELETED, updated_at=now)
        )
        if changed:
            audit_log_write(
                organization=organization,
                actor=actor,
                action="template.delete",
                target=template,
                data={"name": template.name, "language": template.language, "meta_id": template.meta_id},
            )
            publish_templates_on_commit(organization_id=organization.pk, template_ids=[template.pk])
    template.refresh_from_db()


# --- sending -----------------------------------------------------------------------------------------------------


def _sendable_or_error(template: MessageTemplate) -> None:
    if template.deleted_at is not None or template.status != Status.APPROVED:
        raise ServiceError(
            gettext("Only approved templates can be sent; this one is %(status)s.")
            % {"status": template.get_status_display().lower()},
            status_code=409,
            code="template_not_approved",
        )


def _sending_number(*, template: MessageTemplate, number_id: int | None, number_ids: NumberIds) -> WhatsAppNumber:
    """`number_id` if it can send the template (a number of its WABA the caller sees), else the first such number."""
    numbers = selectors.template_numbers(org=template.organization, template=template, number_ids=number_ids)
    number = numbers.filter(pk=number_id).first() if number_id is not None else numbers.first()
    if number is None:
        raise _number_error(
            gettext("No number of this template's WhatsApp Business Account can send it.")
            if number_id is None
            else gettext("This number cannot send this template: choose a number of the template's account.")
        )
    return number


def template_send_to_phone(
    *,
    template: MessageTemplate,
    to: str,
    parameters: Mapping[str, Any],
    sent_by: Any,
    number_id: int | None = None,
    number_ids: NumberIds = None,
) -> Message:
    """Send the approved template, filled in with `parameters` (templates.rendering), to the phone `to` from
    `number_id` (a number of the template's WABA the caller sees; default: the first), through messaging's normal
    path (the contact and conversation found or created, stored queued, delivered by a task): a test send, or a new
    conversation opened with a template. 409 for a template
    that is not approved; 400 for a missing or bad value (errors under `parameters`), a number that cannot send it."""
    _sendable_or_error(template)
    rendered = rendering.render(template, parameters)
    number = _sending_number(template=template, number_id=number_id, number_ids=number_ids)
    return message_send_to_phone(
        organization=template.organization,
        number_id=number.pk,
        to=to,
        content=rendered.content,
        sent_by=_user(sent_by),
        number_ids=number_ids,
    )


@transaction.atomic
def template_send(
    *,
    template: MessageTemplate,
    conversation: Conversation,
    parameters: Mapping[str, Any],
    sent_by: Any,
    role: str,
    number_ids: NumberIds = None,
) -> Message:
    """Send the approved template, filled in with `parameters`, into `conversation` (the inbox's template picker:
    the way back into a conversation whose window closed): the message goes as `message_send` sends it, and a
    closed conversation is open again. 409 for a template that is not approved; 400 for a missing or bad value, or
    a template of another account than the conversation's number's."""
    _sendable_or_error(template)
    if selectors.number_waba_id(conversation.number) != template.waba_id:
        message = gettext("This template belongs to another WhatsApp Business Account than this conversation's number.")
        raise ServiceError(message, errors={"template": [message]})
    rendered = rendering.render(template, parameters)
    message = message_send(
        conversation=conversation, sent_by=_user(sent_by), content=rendered.content, number_ids=number_ids
    )
    if conversation.status == Conversation.Status.CLOSED:
        conversation_update(conversation=conversation, actor=sent_by, role=role, status=Conversation.Status.OPEN)
    return message


# --- Meta's template webhooks ---------------------------------------------------------------------------------------


def _event_changes(template: MessageTemplate, event: Mapping[str, Any]) -> dict[str, Any]:
    """The fields one template webhook changes (a status, a quality score, a category, components)."""
    changes: dict[str, Any] = {}
    if "event" in event:  # message_template_status_update
        status = str(event.get("event") or "").upper()
        status = EVENT_STATUSES.get(status, status)
        if status in Status.values:
            changes["status"] = status
            if status == Status.REJECTED:
                info = event.get("rejection_info") if isinstance(event.get("rejection_info"), dict) else {}
                parts = [
                    str(event.get("reason") or ""),
                    str(info.get("reason") or ""),
                    str(info.get("recommendation") or ""),
                ]
                changes["rejected_reason"] = " ".join(part for part in parts if part and part != "NONE")[:1000]
            elif status == Status.APPROVED:
                changes["rejected_reason"] = ""
            if status == Status.DELETED:
                changes["deleted_at"] = timezone.now()
        category = str(event.get("message_template_category") or "").upper()
        if category in MessageTemplate.Category.values:
            changes["category"] = category
    if "new_quality_score" in event:  # message_template_quality_update
        score = str(event.get("new_quality_score") or "").upper()
        changes["quality_score"] = score if score in MessageTemplate.Quality.values else MessageTemplate.Quality.UNKNOWN
    if "new_category" in event:  # template_category_update
        category = str(event.get("new_category") or "").upper()
        if category in MessageTemplate.Category.values:
            changes["category"] = category
    if any(key.startswith("message_template_") and key not in NAMING_KEYS for key in event) or "components" in event:
        components = _updated_components(template.components, event)  # message_template_components_update
        if components != template.components:
            changes["components"] = components
    return {field: value for field, value in changes.items() if getattr(template, field) != value}


def _updated_components(components: list, event: Mapping[str, Any]) -> list:
    """The components as `message_template_components_update` says they now are: its `components` when it gives
    them whole, else its title (a text header), element (body), footer and buttons applied to the stored ones."""
    if isinstance(event.get("components"), list):
        return event["components"]
    updated = [dict(component) for component in components if isinstance(component, dict)]
    by_type = {str(component.get("type", "")).upper(): component for component in updated}
    for key, ctype in (
        ("message_template_title", "HEADER"),
        ("message_template_element", "BODY"),
        ("message_template_footer", "FOOTER"),
    ):
        text = event.get(key)
        component = by_type.get(ctype)
        if isinstance(text, str) and component is not None and str(component.get("format", "TEXT")).upper() == "TEXT":
            component["text"] = text
    buttons = event.get("message_template_buttons")
    if isinstance(buttons, list) and "BUTTONS" in by_type:
        stored = [dict(button) for button in by_type["BUTTONS"].get("buttons") or []]
        for button, given in zip(stored, buttons, strict=False):
            if isinstance(given, dict):
                if given.get("message_template_button_text"):
                    button["text"] = given["message_template_button_text"]
                if given.get("message_template_button_url"):
                    button["url"] = given["message_template_button_url"]
                if given.get("message_template_button_phone_number"):
                    button["phone_number"] = given["message_template_button_phone_number"]
        by_type["BUTTONS"]["buttons"] = stored
    return updated


def template_event_apply(*, organization_id: int, waba_id: str, event: Mapping[str, Any]) -> None:
    """What one of Meta's template webhooks says (messaging.hooks.template_status_changed, after the ingest's
    commit): `message_template_status_update` sets the status (and the rejection's reason and Meta's
    recommendation), `message_template_quality_update` the quality score, `template_category_update` the category,
    `message_template_components_update` the components. A template the hub does not know yet queues a sync of its
    WABA. Status changes are audited (template.status); template.updated is pushed after commit."""
    organization = Organization.objects.filter(pk=organization_id).first()
    meta_id = str(event.get("message_template_id") or "")
    if organization is None or not meta_id:
        return
    with transaction.atomic():
        template = selectors.template_rows(org=organization).select_for_update().filter(meta_id=meta_id).first()
        if template is None:
            if waba_id != SANDBOX_WABA_ID and selectors.waba_cloud_number(org=organization, waba_id=waba_id):
                template_sync_request(organization=organization, waba_id=waba_id)
            return
        changes = _event_changes(template, event)
        if not changes:
            return
        before = template.status
        for field, value in changes.items():
            setattr(template, field, value)
        template.save(update_fields=[*changes, "updated_at"])
        if changes.get("status") == Status.REJECTED:
            _log_rejected(organization.pk, [template])
        if "status" in changes:
            audit_log_write(
                organization=organization,
                actor=None,
                action="template.status",
                target=template,
                data={"from": before, "to": template.status, "reason": template.rejected_reason},
            )
        publish_templates_on_commit(organization_id=organization.pk, template_ids=[template.pk])
