"""Campaigns: write, start (the audience frozen, the messaging limit checked), pause, resume, cancel, schedule; the
recipients following their messages' statuses and replies; the sweeper. The sending itself is campaigns/sending.py.

Counters. `sent`, `delivered` and `read` count the recipients whose message reached at least that status and did not
fail since (a message failing after it was sent leaves `sent` for `failed`), so at any time
total = pending + sent + failed + skipped. Every move of recipients changes the counters in the same transaction,
by F() expressions, from the statuses read under the rows' locks: only forward (Message.STATUS_RANK's order).
"""

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.files import File
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from accounts.models import Organization, User
from accounts.services import audit_log_write
from campaigns import hooks
from campaigns.models import Campaign, CampaignRecipient
from campaigns.tasks import push_campaign_progress, send_campaign
from messaging import realtime
from messaging.models import (
    Contact,
    Conversation,
    Message,
    MessagingLimitTier,
    NotificationKind,
    Provider,
    Tag,
    WhatsAppNumber,
)
from messaging.selectors.access import NumberIds
from messaging.selectors.contacts import contact_field, contacts_tagged, is_contact_field
from messaging.selectors.numbers import number_list
from messaging.services import contacts as contact_services
from messaging.services import notifications
from messaging.services.conversations import (
    INTERRUPTED_TITLE,
    STATUS_WEBHOOK_MARGIN,
    messages_mark_failed,
    messages_mark_sent,
)
from messaging.services.ingest import rows
from messaging.services.retries import MAX_ATTEMPTS
from templates import rendering
from templates.models import MessageTemplate
from whatsapp_hub.aftercommit import enqueue_after_commit, run_after_commit
from whatsapp_hub.errors import ServiceError

logger = logging.getLogger(__name__)

Status = Campaign.Status
RStatus = CampaignRecipient.Status
RANK = CampaignRecipient.RANK

# Unique customers reached outside the 24-hour window per rolling 24 hours, by tier (None: unlimited).
TIER_LIMITS: dict[str, int | None] = {
    MessagingLimitTier.TIER_250: 250,
    MessagingLimitTier.TIER_2K: 2_000,
    MessagingLimitTier.TIER_10K: 10_000,
    MessagingLimitTier.TIER_100K: 100_000,
    MessagingLimitTier.TIER_UNLIMITED: None,
}
WINDOW = timedelta(hours=24)
# Meta's timestamps are whole seconds: a reply in the same second as the send may read as before it.
REPLY_TIMESTAMP_SLACK = timedelta(seconds=1)
# A claimed batch not renewed this long ago belongs to a worker that died (a live one renews its claim every
# sending.HEARTBEAT seconds, and waits at most the HTTP timeout between two renewals).
CLAIM_TIMEOUT = timedelta(minutes=2)
SWEEP_LIMIT = 500
FREEZE_CHUNK = 5000
PROGRESS_INTERVAL = 1  # seconds: at most one campaign.updated per campaign this often (a trailing one follows)

# Why a recipient was skipped (its error_title), in the product's words.
SKIP_OPTED_OUT = gettext_noop("Opted out of marketing messages.")
SKIP_NO_PHONE = gettext_noop("No possible phone number.")
SKIP_DUPLICATE = gettext_noop("Same number as another contact of this campaign.")
SKIP_INACTIVE = gettext_noop("Inactive contact.")
SKIP_MISSING = gettext_noop("No value for {{%(key)s}}: the contact's %(field)s is empty and there is no fallback.")
SKIP_CANCELLED = gettext_noop("The campaign was cancelled before this message was sent.")
VALUE_TYPES = ("contact_field", "static")


# --- values: the variable mapping ----------------------------------------------------------------------------


def _mapping_error(key: str, message: str) -> ServiceError:
    return ServiceError(f"variable_mapping: {message}", errors={"variable_mapping": {key: [message]}})


def variable_mapping_check(*, template: MessageTemplate, mapping: Any) -> dict:
    """The mapping, checked against the template's placeholders: every required placeholder mapped, no unknown key,
    each value `{"type": "contact_field", "value": <field>, "fallback"?: text}` (field: messaging.selectors.contacts
    .CONTACT_FIELDS or attributes.<key>) or `{"type": "static", "value": <text or Meta's object>}`. 400 naming the
    key otherwise."""
    if not isinstance(mapping, Mapping):
        message = gettext("Give the values as an object, by placeholder.")
        raise ServiceError(message, errors={"variable_mapping": [message]})
    placeholders = {placeholder.key: placeholder for placeholder in rendering.placeholders(template)}
    for key in mapping:
        if key not in placeholders:
            raise _mapping_error(key, gettext("This template has no placeholder %(key)s.") % {"key": key})
    for key, placeholder in placeholders.items():
        if placeholder.required and key not in mapping:
            raise _mapping_error(key, gettext("A value is needed for {{%(key)s}}.") % {"key": key})
    cleaned = {}
    for key, spec in mapping.items():
        kind = spec.get("type") if isinstance(spec, Mapping) else None
        value = spec.get("value") if isinstance(spec, Mapping) else None
        fallback = spec.get("fallback", "") if isinstance(spec, Mapping) else ""
        if kind not in VALUE_TYPES or set(spec) - {"type", "value", "fallback"}:
            raise _mapping_error(key, gettext('Map it as {"type": "contact_field" or "static", "value": ...}.'))
        if not isinstance(fallback, str) or (fallback and kind != "contact_field"):
            raise _mapping_error(key, gettext("A fallback is text, for a contact field."))
        if kind == "contact_field":
            if not isinstance(value, str) or not is_contact_field(value):
                raise _mapping_error(
                    key,
                    gettext(
                        "Name a contact field: name, display_name, phone, wa_id, profile_name or attributes.<key>."
                    ),
                )
            if placeholders[key].kind != "text" and placeholders[key].component != "button":
                raise _mapping_error(key, gettext("A contact field gives text; this placeholder needs a static value."))
        elif value in (None, "") or not isinstance(value, str | int | float | Mapping):
            raise _mapping_error(key, gettext("Give the value."))
        cleaned[key] = {"type": kind, "value": value} | ({"fallback": fallback} if fallback else {})
    # Rendered once with examples standing in for the contacts' fields: static values are checked here.
    sample = {key: _value(spec, None) or "x" for key, spec in cleaned.items()}
    try:
        rendering.render(template, sample)
    except ServiceError as refused:
        errors = (refused.errors or {}).get("parameters", {})
        key, messages = next(iter(errors.items()), ("", [refused.detail]))
        raise _mapping_error(key, messages[0]) from None
    return cleaned


def _value(spec: Mapping, contact: Contact | None) -> Any:
    """The value of one mapped placeholder for a contact ('' when its field is empty and there is no fallback)."""
    if spec["type"] == "static":
        return spec["value"]
    if contact is None:
        return spec.get("fallback", "")
    return contact_field(contact, spec["value"]) or spec.get("fallback", "")


def campaign_values(*, campaign: Campaign, contact: Contact) -> dict:
    """The template's values for one recipient (rendering.render's input)."""
    return {key: _value(spec, contact) for key, spec in campaign.variable_mapping.items()}


def _missing_key(mapping: Mapping, required: set[str], contact: Contact) -> str | None:
    """The first required placeholder this contact has no value for, or None."""
    for key, spec in mapping.items():
        if key in required and spec["type"] == "contact_field" and not _value(spec, contact):
            return key
    return None


# --- writing a campaign -------------------------------------------------------------------------------------


def _number_or_error(*, organization: Organization, number_id: int | None, number_ids: NumberIds) -> WhatsAppNumber:
    """The sending number (the primary one when none is named): live, visible to the caller, able to send
    templates (Cloud API or sandbox)."""
    numbers = number_list(org=organization, number_ids=number_ids)
    number = numbers.filter(pk=number_id).first() if number_id is not None else numbers.filter(is_primary=True).first()
    if number is None:
        message = gettext("No such WhatsApp number in this organization.")
        raise ServiceError(message, errors={"number_id": [message]})
    if number.provider == Provider.WAHA:
        message = gettext("A WhatsApp Web (WAHA) number cannot send templates: choose a Cloud API number.")
        raise ServiceError(message, errors={"number_id": [message]})
    return number


def _template_or_error(*, number: WhatsAppNumber, name: str, language: str) -> MessageTemplate:
    """The approved template `name` in `language` of the number's WhatsApp Business Account."""
    template = (
        MessageTemplate.objects.for_org(number.organization)
        .sendable()
        .filter(waba_id=number.waba_id, name=name, language=language)
        .first()
    )
    if template is None:
        message = gettext(
            "No approved template %(name)s in %(language)s for this number's WhatsApp Business Account "
            "(sync the templates, or wait for Meta's approval)."
        ) % {"name": name, "language": language}
        raise ServiceError(message, errors={"template_name": [message]})
    return template


def _tag_or_error(*, organization: Organization, name: str) -> Tag:
    tag = Tag.objects.for_org(organization).filter(name=name.strip()).first()
    if tag is None:
        message = gettext("No tag named %(name)s in this organization.") % {"name": repr(name)}
        raise ServiceError(message, errors={"filters": {"tag": [message]}})
    return tag


def _audience(
    *, organization: Organization, contact_ids: list[int] | None, tag: str | None, audience: str | None
) -> dict:
    """The audience fields: chosen contacts (ids of the organization's contacts), a tag, or all contacts."""
    if audience is None:
        audience = Campaign.Audience.TAG if tag else Campaign.Audience.CONTACTS if contact_ids else None
    if audience == Campaign.Audience.TAG:
        if not tag:
            message = gettext("Name the tag of the audience.")
            raise ServiceError(message, errors={"filters": {"tag": [message]}})
        return {"audience": audience, "tag": _tag_or_error(organization=organization, name=tag), "contact_ids": []}
    if audience == Campaign.Audience.ALL:
        return {"audience": audience, "tag": None, "contact_ids": []}
    if audience in (Campaign.Audience.CONTACTS, Campaign.Audience.CSV) and contact_ids:
        unique = list(dict.fromkeys(contact_ids))
        known = set(Contact.objects.for_org(organization).filter(pk__in=unique).values_list("pk", flat=True))
        unknown = [pk for pk in unique if pk not in known]
        if unknown:
            message = gettext("No such contacts in this organization: %(ids)s.") % {"ids": unknown[:10]}
            raise ServiceError(message, errors={"contact_ids": [message]})
        return {"audience": audience, "tag": None, "contact_ids": unique}
    message = gettext("Choose the audience: contact_ids, a tag (filters.tag), a CSV of numbers, or all contacts.")
    raise ServiceError(message, errors={"contact_ids": [message]})


def _scheduled_or_error(scheduled_at: datetime | None) -> datetime | None:
    if scheduled_at is not None and scheduled_at <= timezone.now():
        message = gettext("The time to send at must be in the future.")
        raise ServiceError(message, errors={"scheduled_at": [message]})
    return scheduled_at


def campaign_draft(
    *,
    organization: Organization,
    template_name: str,
    language: str,
    name: str = "",
    variable_mapping: Mapping | None = None,
    number_id: int | None = None,
    contact_ids: list[int] | None = None,
    tag: str | None = None,
    audience: str | None = None,
    scheduled_at: datetime | None = None,
    number_ids: NumberIds = None,
) -> Campaign:
    """An unsaved campaign of these fields, checked: the number (the primary one when none is named; among
    `number_ids`, the numbers the caller sees), an approved template of its WhatsApp Business Account, the audience
    (contact_ids, a tag, `audience="all"`, or `audience="csv"` for numbers uploaded to the draft later) and the
    values of the template's placeholders (variable_mapping_check). 400 naming the field at fault."""
    number = _number_or_error(organization=organization, number_id=number_id, number_ids=number_ids)
    template = _template_or_error(number=number, name=template_name, language=language)
    mapping = variable_mapping_check(template=template, mapping=variable_mapping or {})
    if audience == Campaign.Audience.CSV and not contact_ids:
        audience_fields = {"audience": Campaign.Audience.CSV, "tag": None, "contact_ids": []}
    else:
        audience_fields = _audience(organization=organization, contact_ids=contact_ids, tag=tag, audience=audience)
    return Campaign(
        organization=organization,
        name=name.strip(),
        number=number,
        template=template,
        template_name=template.name,
        language=template.language,
        variable_mapping=mapping,
        scheduled_at=_scheduled_or_error(scheduled_at),
        status=Status.SCHEDULED if scheduled_at else Status.DRAFT,
        **audience_fields,
    )


@transaction.atomic
def campaign_create(*, organization: Organization, actor: User | None, **fields: Any) -> Campaign:
    """A draft campaign (scheduled, with `scheduled_at`) of campaign_draft's fields, checked there (400)."""
    campaign = campaign_draft(organization=organization, **fields)
    campaign.created_by = actor if isinstance(actor, User) else None
    campaign.save()
    audit_log_write(organization=organization, actor=actor, action="campaign.create", target=campaign)
    _progress_on_commit(campaign)
    return campaign


def _editable_or_error(campaign: Campaign) -> None:
    if campaign.status not in Campaign.EDITABLE:
        raise ServiceError(
            gettext("A %(status)s campaign cannot be changed.") % {"status": campaign.get_status_display().lower()},
            status_code=409,
            code="not_editable",
        )


def _locked(campaign: Campaign) -> Campaign:
    return Campaign.objects.for_org(campaign.organization).select_for_update().get(pk=campaign.pk)


_UNSET: Any = object()


@transaction.atomic
def campaign_update(
    *,
    campaign: Campaign,
    actor: User | None,
    name: str | None = None,
    number_id: int | None = _UNSET,
    template_name: str | None = None,
    language: str | None = None,
    variable_mapping: Mapping | None = None,
    contact_ids: list[int] | None = None,
    tag: str | None = None,
    audience: str | None = None,
    scheduled_at: datetime | None = _UNSET,
    number_ids: NumberIds = None,
) -> Campaign:
    """Change a draft or scheduled campaign (409 otherwise): the fields given; a new number or template checks the
    mapping again; `scheduled_at` set schedules it, null makes it a draft again."""
    campaign = _locked(campaign)
    _editable_or_error(campaign)
    organization = campaign.organization
    if name is not None:
        campaign.name = name.strip()
    if number_id is not _UNSET:
        campaign.number = _number_or_error(organization=organization, number_id=number_id, number_ids=number_ids)
    if {template_name, language} != {None} or number_id is not _UNSET or variable_mapping is not None:
        template = _template_or_error(
            number=campaign.number,
            name=template_name or campaign.template_name,
            language=language or campaign.language,
        )
        campaign.template, campaign.template_name, campaign.language = template, template.name, template.language
        mapping = campaign.variable_mapping if variable_mapping is None else variable_mapping
        campaign.variable_mapping = variable_mapping_check(template=template, mapping=mapping)
    if contact_ids is not None or tag is not None or audience is not None:
        if audience == Campaign.Audience.CSV and not contact_ids:
            fields = {"audience": Campaign.Audience.CSV, "tag": None, "contact_ids": []}
        else:
            fields = _audience(organization=organization, contact_ids=contact_ids, tag=tag, audience=audience)
        for field, value in fields.items():
            setattr(campaign, field, value)
    if scheduled_at is not _UNSET:
        campaign.scheduled_at = _scheduled_or_error(scheduled_at)
        campaign.status = Status.SCHEDULED if scheduled_at else Status.DRAFT
    campaign.save()
    audit_log_write(organization=organization, actor=actor, action="campaign.update", target=campaign)
    _progress_on_commit(campaign)
    return campaign


@transaction.atomic
def campaign_delete(*, campaign: Campaign, actor: User | None) -> None:
    """Delete a campaign that is not running (409 while it runs: pause or cancel it first), with its recipients'
    log. The messages it sent stay in their conversations."""
    campaign = _locked(campaign)
    if campaign.status == Status.RUNNING:
        raise ServiceError(
            gettext("A running campaign cannot be deleted: pause or cancel it first."),
            status_code=409,
            code="running",
        )
    audit_log_write(
        organization=campaign.organization, actor=actor, action="campaign.delete", data={"name": campaign.name}
    )
    campaign.delete()


@transaction.atomic
def campaign_audience_upload(
    *, campaign: Campaign, file: File, actor: User | None
) -> contact_services.ContactImportResult:
    """A CSV of numbers (a `number` or `phone` column; `name` and `tags` optional) as the audience of a draft or
    scheduled campaign: the numbers' contacts are found or created in bulk (messaging's contact import: phones
    normalised, impossible ones reported by row, repeated ones merged), and they become the campaign's audience."""
    campaign = _locked(campaign)
    _editable_or_error(campaign)
    result = contact_services.contact_import_csv(organization=campaign.organization, file=file, actor=actor)
    campaign.audience, campaign.tag, campaign.contact_ids = Campaign.Audience.CSV, None, result.contact_ids
    campaign.save(update_fields=["audience", "tag", "contact_ids", "updated_at"])
    return result


# --- the audience, frozen -----------------------------------------------------------------------------------------


def audience_contacts(*, campaign: Campaign):
    """The contacts of the campaign's audience (a queryset), by id."""
    contacts = Contact.objects.for_org(campaign.organization)
    if campaign.audience == Campaign.Audience.TAG:
        contacts = contacts_tagged(contacts, org=campaign.organization, tag=campaign.tag.name if campaign.tag else "")
    elif campaign.audience != Campaign.Audience.ALL:
        contacts = contacts.filter(pk__in=campaign.contact_ids)
    return contacts.order_by("pk")


def _contact_columns(mapping: Mapping) -> list[str]:
    columns = ["pk", "phone", "opted_out", "is_active", "name", "profile_name", "wa_id"]
    if any(spec["type"] == "contact_field" and spec["value"].startswith("attributes.") for spec in mapping.values()):
        columns.append("attributes")
    return columns


def audience_verdicts(*, campaign: Campaign, contacts: Iterable[Contact]) -> Iterable[tuple[Contact, str]]:
    """Each contact of `contacts` (in id order) with why it is skipped ('' when it is to be sent to): opted out,
    inactive, no possible phone, the same phone as a contact before it, or no value for a required placeholder."""
    template = campaign.template
    required = {p.key for p in rendering.placeholders(template) if p.required} if template else set()
    mapping = campaign.variable_mapping
    seen: set[str] = set()
    for contact in contacts:
        if not contact.phone:
            reason = gettext(SKIP_NO_PHONE)
        elif contact.phone in seen:
            reason = gettext(SKIP_DUPLICATE)
        elif contact.opted_out:
            reason = gettext(SKIP_OPTED_OUT)
        elif not contact.is_active:
            reason = gettext(SKIP_INACTIVE)
        elif (key := _missing_key(mapping, required, contact)) is not None:
            reason = gettext(SKIP_MISSING) % {"key": key, "field": mapping[key]["value"]}
        else:
            reason = ""
        seen.add(contact.phone)
        yield contact, reason


def _freeze(campaign: Campaign) -> tuple[int, int]:
    """Write the recipient rows of the campaign's audience (pending, or skipped with the reason) in bulk, a chunk of
    contacts at a time; returns (total, skipped). Must be called inside a transaction."""
    total = skipped = 0
    contacts = audience_contacts(campaign=campaign).only(*_contact_columns(campaign.variable_mapping))
    chunk: list[tuple] = []
    constants = {"organization_id": campaign.organization_id, "campaign_id": campaign.pk}

    def flush() -> None:
        rows.insert(
            CampaignRecipient,
            ["contact_id", "phone", "status", "error_title"],
            chunk,
            constants=constants,
            conflict=["campaign", "contact"],
        )
        chunk.clear()

    for contact, reason in audience_verdicts(campaign=campaign, contacts=contacts.iterator(chunk_size=FREEZE_CHUNK)):
        total += 1
        skipped += bool(reason)
        chunk.append((contact.pk, contact.phone, RStatus.SKIPPED if reason else RStatus.PENDING, reason))
        if len(chunk) >= FREEZE_CHUNK:
            flush()
    if chunk:
        flush()
    return total, skipped


# --- the messaging limit ---------------------------------------------------------------------------------------


def _portfolio_numbers(number: WhatsAppNumber):
    """The numbers sharing the number's messaging limit: Meta sets it per business portfolio (here: the numbers of
    its WhatsApp Business Account)."""
    numbers = WhatsAppNumber.objects.for_org(number.organization)
    return numbers.filter(waba_id=number.waba_id) if number.waba_id else numbers.filter(pk=number.pk)


def messaging_limit_left(*, number: WhatsAppNumber, now: datetime | None = None) -> int | None:
    """How many more customers the number may reach outside their 24-hour window in the rolling 24 hours (None:
    unlimited): its tier's limit less the customers its portfolio's template messages reached in the last 24 hours."""
    limit = TIER_LIMITS.get(number.messaging_limit_tier)
    if limit is None:
        return None
    return max(0, limit - _reached(number, now or timezone.now()).count())


def _reached(number: WhatsAppNumber, now: datetime):
    """The contacts the portfolio's business-initiated (template) messages reached in the last 24 hours (ids)."""
    return (
        Message.objects.for_org(number.organization)
        .filter(
            direction=Message.Direction.OUTBOUND,
            type=Message.Type.TEMPLATE,
            created_at__gte=now - WINDOW,
            conversation__number__in=_portfolio_numbers(number),
        )
        .exclude(status=Message.Status.FAILED)
        .values("conversation__contact_id")
        .distinct()
    )


def _new_reach(campaign: Campaign, now: datetime) -> int:
    """The campaign's pending recipients it would reach outside their window who were not reached in the last 24 h."""
    number = campaign.number
    open_window = Conversation.objects.for_org(campaign.organization).filter(
        number=number, last_inbound_at__gte=now - WINDOW
    )
    return (
        CampaignRecipient.objects.for_org(campaign.organization)
        .filter(campaign=campaign, status=RStatus.PENDING)
        .exclude(contact_id__in=open_window.values("contact_id"))
        .exclude(contact_id__in=_reached(number, now))
        .count()
    )


def _check_messaging_limit(campaign: Campaign, *, allow_partial: bool) -> str:
    """'' when the audience fits the number's messaging limit; the warning when it does not and `allow_partial`;
    a 409 otherwise. Must be called after the freeze, in its transaction."""
    now = timezone.now()
    left = messaging_limit_left(number=campaign.number, now=now)
    if left is None:
        return ""
    needed = _new_reach(campaign, now)
    if needed <= left:
        return ""
    message = gettext(
        "This campaign would reach %(needed)d customers outside their 24-hour window, but the number's messaging "
        "limit (%(tier)s customers per rolling 24 hours) leaves %(left)d now: WhatsApp would refuse the rest "
        "(error 131048 or 131064). Reduce the audience, wait, or start anyway with allow_partial."
    ) % {"needed": needed, "tier": campaign.number.get_messaging_limit_tier_display(), "left": left}
    if not allow_partial:
        raise ServiceError(message, status_code=409, code="messaging_limit")
    return message


# --- starting, pausing, resuming, cancelling ------------------------------------------------------------------------


def _senders_on_commit(campaign: Campaign) -> None:
    for _ in range(settings.CAMPAIGN_SENDERS):
        enqueue_after_commit(send_campaign, campaign.organization_id, campaign.pk)


@transaction.atomic
def campaign_start(*, campaign: Campaign, actor: User | None, allow_partial: bool = False) -> Campaign:
    """Start a draft or scheduled campaign now: its template must still be approved; its audience is frozen into
    recipient rows (skipped ones with the reason); the number's messaging limit must hold the customers it would
    reach outside their window (409 otherwise, or started with a warning when `allow_partial`); then it runs, and
    its sending tasks are queued after commit. An audience with nobody to send to completes at once. 409 when the
    campaign is not a draft or scheduled; one transaction: a refusal leaves nothing frozen."""
    campaign = _locked(campaign)
    if campaign.status not in Campaign.EDITABLE:
        raise ServiceError(
            gettext("Only a draft or scheduled campaign can be started; this one is %(status)s.")
            % {"status": campaign.get_status_display().lower()},
            status_code=409,
            code="not_startable",
        )
    template = _template_or_error(number=campaign.number, name=campaign.template_name, language=campaign.language)
    campaign.template = template
    if campaign.number.deleted_at is not None:
        raise ServiceError(gettext("The campaign's number was deleted."), status_code=409, code="number_deleted")
    total, skipped = _freeze(campaign)
    warning = _check_messaging_limit(campaign, allow_partial=allow_partial)
    now = timezone.now()
    campaign.total, campaign.skipped, campaign.warning = total, skipped, warning
    campaign.status, campaign.started_at, campaign.activity_at = Status.RUNNING, now, now
    if total == skipped:
        campaign.status, campaign.finished_at = Status.COMPLETED, now
        hooks.campaign_completed.send_on_commit(organization_id=campaign.organization_id, campaign_id=campaign.pk)
    campaign.save()
    audit_log_write(
        organization=campaign.organization,
        actor=actor,
        action="campaign.start",
        target=campaign,
        data={"total": total, "skipped": skipped, "warning": bool(warning)},
    )
    _progress_on_commit(campaign, now=True)  # before the sending starts (run inline in the embedded default)
    if campaign.status == Status.RUNNING:
        _senders_on_commit(campaign)
    return campaign


def _move(campaign: Campaign, *, allowed: Iterable[str], to: str, actor: User | None, action: str) -> Campaign:
    campaign = _locked(campaign)
    if campaign.status not in allowed:
        raise ServiceError(
            gettext("This campaign is %(status)s.") % {"status": campaign.get_status_display().lower()},
            status_code=409,
            code="wrong_status",
        )
    campaign.status = to
    campaign.save(update_fields=["status", "updated_at"])
    audit_log_write(organization=campaign.organization, actor=actor, action=action, target=campaign)
    _progress_on_commit(campaign, now=True)
    return campaign


@transaction.atomic
def campaign_pause(*, campaign: Campaign, actor: User | None) -> Campaign:
    """Pause a running campaign: its sending tasks see it within a second (sending.STATUS_CHECK), stop, and put
    the recipients they had not sent to back (the sends already on their way finish). 409 unless running."""
    return _move(campaign, allowed={Status.RUNNING}, to=Status.PAUSED, actor=actor, action="campaign.pause")


@transaction.atomic
def campaign_resume(*, campaign: Campaign, actor: User | None) -> Campaign:
    """Run a paused campaign again (its sending tasks queued after commit). 409 unless paused."""
    campaign = _move(campaign, allowed={Status.PAUSED}, to=Status.RUNNING, actor=actor, action="campaign.resume")
    Campaign.objects.filter(pk=campaign.pk).update(activity_at=timezone.now())
    _senders_on_commit(campaign)
    return campaign


@transaction.atomic
def campaign_cancel(*, campaign: Campaign, actor: User | None) -> Campaign:
    """Cancel a campaign that has not finished: nothing more is sent (the sending tasks see it within a second), and
    its recipients not sent to are skipped with the reason. 409 when it has finished already."""
    allowed = set(Status) - Campaign.FINISHED
    campaign = _move(campaign, allowed=allowed, to=Status.CANCELLED, actor=actor, action="campaign.cancel")
    recipients_cancel(campaign=campaign, claimed=False)
    Campaign.objects.filter(pk=campaign.pk).update(finished_at=timezone.now())
    return campaign


def recipients_cancel(*, campaign: Campaign, claimed: bool, claim_token=None) -> int:
    """Skip the pending recipients of a cancelled campaign (those not claimed; or those of one claim); the counters
    follow. Must be called inside a transaction."""
    pending = CampaignRecipient.objects.for_org(campaign.organization).filter(campaign=campaign, status=RStatus.PENDING)
    pending = pending.filter(claim_token=claim_token) if claimed else pending.filter(claim_token__isnull=True)
    count = pending.update(status=RStatus.SKIPPED, error_title=gettext(SKIP_CANCELLED), claim_token=None, retry_at=None)
    if count:
        Campaign.objects.filter(pk=campaign.pk).update(skipped=F("skipped") + count)
    return count


@transaction.atomic
def campaign_send(
    *,
    organization: Organization,
    actor: User | None,
    allow_partial: bool = False,
    **fields: Any,
) -> Campaign:
    """The seed's `POST campaigns/send`: create the campaign (campaign_create's fields) and start it now, or leave it
    scheduled when `scheduled_at` is given. One transaction: a refused start leaves no campaign behind."""
    campaign = campaign_create(organization=organization, actor=actor, **fields)
    if campaign.status == Status.DRAFT:
        campaign = campaign_start(campaign=campaign, actor=actor, allow_partial=allow_partial)
    return campaign


# --- recipients follow their messages --------------------------------------------------------------------------

SENT_STAGE = frozenset({RStatus.SENT, RStatus.DELIVERED, RStatus.READ})
DELIVERED_STAGE = frozenset({RStatus.DELIVERED, RStatus.READ})
FOLLOWED = {  # a message's status -> its recipient's
    Message.Status.SENT: RStatus.SENT,
    Message.Status.DELIVERED: RStatus.DELIVERED,
    Message.Status.READ: RStatus.READ,
    Message.Status.FAILED: RStatus.FAILED,
}


def _deltas(old: str, new: str) -> Counter:
    """How a recipient moving from `old` to `new` changes the counters."""
    deltas: Counter = Counter()
    for counter, stage in (("sent", SENT_STAGE), ("delivered", DELIVERED_STAGE), ("read", {RStatus.READ})):
        deltas[counter] += (new in stage) - (old in stage)
    deltas["failed"] += (new == RStatus.FAILED) - (old == RStatus.FAILED)
    return deltas


def counters_add(campaign_id: int, deltas: Mapping[str, int], **fields: Any) -> None:
    """Add `deltas` to the campaign's counters (F() expressions) and set `fields`."""
    changes = {name: F(name) + delta for name, delta in deltas.items() if delta}
    if changes or fields:
        Campaign.objects.filter(pk=campaign_id).update(**changes, **fields)


def recipients_follow_messages(*, organization_id: int, changes: list[tuple[int, str, int | None]]) -> None:
    """Move the recipients of these messages along their statuses ([(message id, status, error code)], as
    messaging's message_status_changed announces them): only forward, a failed one with the message's code and
    title, claims released, sent_at set when first sent; the counters follow in the same transaction. Safe to run
    twice (the second run moves nothing). Subscribed to messaging's hook; the sending tasks call it in the
    transaction that records their sends."""
    targets = {message_id: FOLLOWED[status] for message_id, status, _ in changes if status in FOLLOWED}
    if not targets:
        return
    with transaction.atomic():
        found = list(
            CampaignRecipient.objects.filter(organization_id=organization_id, message_id__in=list(targets))
            .select_for_update()
            .order_by("id")
            .values_list("id", "campaign_id", "status", "message_id")
        )
        moves = [
            (pk, campaign_id, old, targets[message_id], message_id)
            for pk, campaign_id, old, message_id in found
            if RANK[targets[message_id]] > RANK[old] and old not in (RStatus.FAILED, RStatus.SKIPPED)
        ]
        if not moves:
            return
        failed_ids = [message_id for *_, new, message_id in moves if new == RStatus.FAILED]
        errors = dict(
            (pk, (code, title))
            for pk, code, title in Message.objects.filter(
                organization_id=organization_id, pk__in=failed_ids
            ).values_list("pk", "error_code", "error_title")
        )
        now = timezone.now()
        groups: dict[tuple, list[int]] = defaultdict(list)
        deltas: dict[int, Counter] = defaultdict(Counter)
        for pk, campaign_id, old, new, message_id in moves:
            first_sent = old == RStatus.PENDING and new in SENT_STAGE
            groups[(new, first_sent, *errors.get(message_id, (None, "")))].append(pk)
            deltas[campaign_id].update(_deltas(old, new))  # update keeps negative counts (+= drops them)
        for (new, first_sent, code, title), ids in groups.items():
            fields: dict[str, Any] = {"status": new, "claim_token": None, "retry_at": None}
            if first_sent:
                fields["sent_at"] = now
            if new == RStatus.FAILED:
                fields.update(error_code=code, error_title=title)
            CampaignRecipient.objects.filter(pk__in=ids).update(**fields)
        for campaign_id, campaign_deltas in deltas.items():
            counters_add(campaign_id, campaign_deltas)
        finished = {campaign_id for _, campaign_id, old, _, _ in moves if old == RStatus.PENDING}
        done = [campaign_id for campaign_id in sorted(finished) if campaign_complete_if_done(campaign_id=campaign_id)]
        campaigns_progress_on_commit(organization_id=organization_id, campaign_ids=list(deltas))
        campaigns_progress_on_commit(organization_id=organization_id, campaign_ids=done, now=True)


def recipients_mark_replied(*, organization_id: int, message_ids: list[int]) -> None:
    """An inbound message within 24 hours after a campaign's message to its sender, on the campaign's number,
    counts the recipient as replied (once). Subscribed to messaging's message_received hook: two queries whatever
    the number of messages (an ingest batch holds thousands)."""
    inbound = list(
        Message.objects.filter(
            organization_id=organization_id, pk__in=message_ids, direction=Message.Direction.INBOUND
        ).values_list("conversation__contact_id", "conversation__number_id", "provider_timestamp", "created_at")
    )
    if not inbound:
        return
    first_reply: dict[tuple[int, int], datetime] = {}
    for contact_id, number_id, provider_timestamp, created_at in inbound:
        at = provider_timestamp or created_at
        first_reply[(contact_id, number_id)] = min(at, first_reply.get((contact_id, number_id), at))
    with transaction.atomic():
        candidates = (
            CampaignRecipient.objects.filter(
                organization_id=organization_id,
                contact_id__in={contact_id for contact_id, _ in first_reply},
                status__in=SENT_STAGE,
                replied_at__isnull=True,
                sent_at__gte=min(first_reply.values()) - WINDOW,
            )
            .select_for_update(of=("self",))
            .order_by("pk")
            .values_list("pk", "campaign_id", "campaign__number_id", "contact_id", "sent_at")
        )
        replied: Counter = Counter()
        for pk, campaign_id, number_id, contact_id, sent_at in candidates:
            at = first_reply.get((contact_id, number_id))
            if at is not None and at - WINDOW <= sent_at < at + REPLY_TIMESTAMP_SLACK:
                CampaignRecipient.objects.filter(pk=pk).update(replied_at=at)
                replied[campaign_id] += 1
        for campaign_id, count in replied.items():
            counters_add(campaign_id, {"replied": count})
        campaigns_progress_on_commit(organization_id=organization_id, campaign_ids=list(replied))


def campaign_complete_if_done(*, campaign_id: int) -> bool:
    """A running campaign with no pending recipient left is completed (conditional: once); subscribers are told
    after commit (hooks.campaign_completed)."""
    pending = CampaignRecipient.objects.filter(campaign_id=OuterRef("pk"), status=RStatus.PENDING)
    done = (
        Campaign.objects.filter(pk=campaign_id, status=Status.RUNNING)
        .filter(~Exists(pending))
        .update(status=Status.COMPLETED, finished_at=timezone.now())
    )
    if done:
        organization_id = Campaign.objects.filter(pk=campaign_id).values_list("organization_id", flat=True).get()
        hooks.campaign_completed.send_on_commit(organization_id=organization_id, campaign_id=campaign_id)
    return bool(done)


def campaign_completed_notify(*, organization_id: int, campaign_id: int, **_) -> None:
    """The person who created the campaign hears that it finished (hooks.campaign_completed, after commit)."""
    campaign = (
        Campaign.objects.filter(pk=campaign_id, organization_id=organization_id).select_related("organization").first()
    )
    if campaign is None or campaign.created_by_id is None:
        return
    notifications.notify(
        organization=campaign.organization,
        recipient_ids=[campaign.created_by_id],
        kind=NotificationKind.CAMPAIGN_FINISHED,
        title=notifications.TITLES["campaign_finished"],
        params={"name": campaign.name},
        link=reverse("campaigns-detail", args=[campaign.pk]),
    )


def campaign_fail(*, campaign_id: int, warning: str) -> None:
    """Stop a running campaign for good (its template was refused by Meta, ...), saying why."""
    Campaign.objects.filter(pk=campaign_id, status=Status.RUNNING).update(
        status=Status.FAILED, warning=warning[:1000], finished_at=timezone.now()
    )


# --- progress over the websocket --------------------------------------------------------------------------------


def campaigns_progress_on_commit(*, organization_id: int, campaign_ids: list[int], now: bool = False) -> None:
    """campaign.updated for these campaigns after commit, coalesced: at most one push per campaign per
    PROGRESS_INTERVAL (the first change pushes at once; the changes within the interval after it are pushed
    together at its end by a task), or at once when `now` (status changes)."""
    if campaign_ids:
        run_after_commit(partial(_progress, organization_id, sorted(set(campaign_ids)), now), what="campaign progress")


def _progress_on_commit(campaign: Campaign, *, now: bool = False) -> None:
    campaigns_progress_on_commit(organization_id=campaign.organization_id, campaign_ids=[campaign.pk], now=now)


def _progress(organization_id: int, campaign_ids: list[int], now: bool) -> None:
    # Tasks run eagerly (the embedded default) would push the trailing update at once, before the changes it stands
    # for, and the last changes of a burst would never be pushed: there, every change is pushed.
    now = now or settings.CELERY_TASK_ALWAYS_EAGER
    due = []
    for campaign_id in campaign_ids:
        if now or cache.add(f"campaigns:progress:{campaign_id}", 1, PROGRESS_INTERVAL):
            due.append(campaign_id)
        elif cache.add(f"campaigns:progress-trailing:{campaign_id}", 1, PROGRESS_INTERVAL):
            push_campaign_progress.apply_async((organization_id, [campaign_id]), countdown=PROGRESS_INTERVAL)
    if due:
        campaign_progress_publish(organization_id=organization_id, campaign_ids=due)


def campaign_progress_publish(*, organization_id: int, campaign_ids: list[int]) -> None:
    """Push campaign.updated for these campaigns now, as GET campaigns/{id} shows them (best effort)."""
    from campaigns.serializers import CampaignSerializer

    campaigns = list(Campaign.objects.filter(organization_id=organization_id, pk__in=campaign_ids).order_by("pk"))
    if campaigns:
        data = {"campaigns": CampaignSerializer(campaigns, many=True).data}
        realtime.publish(organization_id, [("campaign.updated", data, [c.number_id for c in campaigns])])


# --- beat: the schedule and the sweeper -----------------------------------------------------------------------


def campaigns_start_due(*, now: datetime | None = None) -> int:
    """Start the scheduled campaigns whose time has come (beat, every minute); one that cannot start (its template
    no longer approved, the messaging limit) fails with the reason. Returns how many were started."""
    now = now or timezone.now()
    started = 0
    due = Campaign.objects.filter(status=Status.SCHEDULED, scheduled_at__lte=now).select_related("organization")
    for campaign in due.order_by("scheduled_at", "pk")[:SWEEP_LIMIT]:
        try:
            campaign_start(campaign=campaign, actor=None)
            started += 1
        except ServiceError as refused:
            Campaign.objects.filter(pk=campaign.pk, status=Status.SCHEDULED).update(
                status=Status.FAILED, warning=str(refused.detail)[:1000], finished_at=timezone.now()
            )
            logger.warning("scheduled campaign %s could not start: %s", campaign.pk, refused.detail)
    return started


def campaigns_sweep(*, now: datetime | None = None) -> int:
    """The sweeper (beat, every minute): resolves the claims of batches whose worker died, and starts sending tasks
    again for running campaigns that made no progress for CLAIM_TIMEOUT (their tasks were lost). Returns how many
    claimed recipients it resolved.

    A claimed recipient whose claim is older than CLAIM_TIMEOUT (a live worker renews it) is resolved by its
    message, never sent again blindly:
    - no message: its send was never made: it is released (pending again);
    - a message Meta accepted (a provider id, or a status: ingest links a status to its message by the callback
      data `msg:<id>` every send carries, even when the worker died before storing the answer): the recipient
      follows the message;
    - a message still queued without a provider id: the send may have reached Meta, whose `sent` status names it
      within seconds; until STATUS_WEBHOOK_MARGIN after the attempt it waits for that status. After it, Meta never
      accepted it: the message fails ("interrupted") and the recipient is pending again (a new message next time),
      or failed after MAX_ATTEMPTS.
    The margin and timeout are shorter than messaging's delivery sweeper's grace, which never sees these messages
    queued: they are resolved here first.
    """
    now = now or timezone.now()
    resolved = _sweep_claims(now)
    stalled = Campaign.objects.filter(status=Status.RUNNING).filter(
        Q(activity_at__isnull=True) | Q(activity_at__lt=now - CLAIM_TIMEOUT)
    )
    for campaign in stalled.select_related("organization")[:SWEEP_LIMIT]:
        if campaign_complete_if_done(campaign_id=campaign.pk):
            _progress_on_commit(campaign, now=True)
            continue
        ready = CampaignRecipient.objects.filter(campaign=campaign, status=RStatus.PENDING, claim_token__isnull=True)
        if ready.filter(Q(retry_at__isnull=True) | Q(retry_at__lte=now)).exists():
            with transaction.atomic():
                Campaign.objects.filter(pk=campaign.pk).update(activity_at=now)
                _senders_on_commit(campaign)
    return resolved


def _sweep_claims(now: datetime) -> int:
    with transaction.atomic():
        claimed = list(
            CampaignRecipient.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(claim_token__isnull=False, claimed_at__lt=now - CLAIM_TIMEOUT)
            .select_related("message", "campaign__organization")
            .order_by("claimed_at", "pk")[:SWEEP_LIMIT]
        )
        follow: dict[int, list[tuple[int, str, int | None]]] = defaultdict(list)
        release, interrupted, out_of_attempts = [], [], []
        for recipient in claimed:
            message = recipient.message
            if message is None:
                release.append(recipient.pk)
            elif message.provider_message_id or message.status != Message.Status.QUEUED:
                status = message.status if message.status != Message.Status.QUEUED else Message.Status.SENT
                follow[recipient.organization_id].append((message.pk, status, message.error_code))
            elif message.attempted_at is None or message.attempted_at < now - STATUS_WEBHOOK_MARGIN:
                (out_of_attempts if recipient.attempts >= MAX_ATTEMPTS else interrupted).append(recipient)
        CampaignRecipient.objects.filter(pk__in=release).update(claim_token=None, claimed_at=None)
        for organization_id, changes in follow.items():
            if any(status == Message.Status.SENT for _, status, _ in changes):
                # A provider id stored, the status still queued: sent.
                messages_mark_sent(
                    organization_id=organization_id,
                    sent={pk: None for pk, status, _ in changes if status == Message.Status.SENT},
                )
            recipients_follow_messages(organization_id=organization_id, changes=changes)
        for recipient in interrupted:
            # Detached first: the message's failure then moves no recipient.
            CampaignRecipient.objects.filter(pk=recipient.pk).update(claim_token=None, claimed_at=None, message=None)
            messages_mark_failed(
                organization_id=recipient.organization_id, failed={recipient.message_id: (None, INTERRUPTED_TITLE)}
            )
        for recipient in out_of_attempts:
            changes = messages_mark_failed(
                organization_id=recipient.organization_id, failed={recipient.message_id: (None, INTERRUPTED_TITLE)}
            )
            recipients_follow_messages(organization_id=recipient.organization_id, changes=changes)
        # A campaign cancelled meanwhile sends nothing more: what its dead batch put back is skipped.
        for campaign in {r.campaign_id: r.campaign for r in claimed if r.campaign.status == Status.CANCELLED}.values():
            recipients_cancel(campaign=campaign, claimed=False)
        if claimed:
            logger.warning(
                "campaign sweeper: %d stale claims: %d released, %d followed their message, %d sent again, %d failed",
                len(claimed),
                len(release),
                sum(map(len, follow.values())),
                len(interrupted),
                len(out_of_attempts),
            )
    return len(claimed)
