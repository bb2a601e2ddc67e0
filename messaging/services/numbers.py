"""WhatsApp numbers: create, update, soft delete, primary, assignment, settings/whatsapp.

Every caller's fields are checked here: their format (messaging.number_fields: digits-only Meta ids, the
characters of a WAHA session name, lengths, ...), then what the number's provider needs.

Every write to an organization's numbers first locks its organization row, so "one primary number" and "the
first number becomes primary" hold under concurrent requests. A WAHA number's session follows it on WAHA through
tasks queued after commit (messaging.services.waha_sessions).
"""

import logging
import secrets
from collections.abc import Collection
from dataclasses import replace
from functools import partial
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from accounts import plans
from accounts.integration_models import IntegrationKind
from accounts.integrations import integration_details_merge, integration_failed, integration_ok
from accounts.models import Membership, Organization, SystemLog, Team
from accounts.services import audit_log_write
from messaging import extensions, number_fields
from messaging.models import MessagingLimitTier, Provider, WhatsAppNumber
from messaging.providers import ProviderError, provider_for
from messaging.providers.base import connection_error_code
from messaging.selectors import ingest as ingest_selectors
from messaging.selectors import numbers as selectors
from messaging.services import notifications, system_log
from messaging.services.contacts import phone_or_error
from messaging.services.events import access_changed_on_commit
from messaging.services.waha_sessions import uses_shared_waha, waha_session_get
from messaging.tasks import numbers as number_tasks
from whatsapp_hub import egress
from whatsapp_hub.aftercommit import enqueue_after_commit, run_after_commit
from whatsapp_hub.encryption import mask
from whatsapp_hub.errors import ServiceError

logger = logging.getLogger(__name__)

CLOUD_FIELDS = ("phone_number_id", "waba_id", "access_token", "app_secret", "verify_token")
WAHA_FIELDS = ("waha_session", "waha_base_url", "waha_api_key", "waha_webhook_hmac_key")
PROVIDER_FIELDS = {Provider.CLOUD: CLOUD_FIELDS, Provider.WAHA: WAHA_FIELDS, Provider.SANDBOX: ()}
# What a number of each provider cannot work without (a WAHA session name is generated when none is given).
REQUIRED_FIELDS = {Provider.CLOUD: CLOUD_FIELDS, Provider.WAHA: ("waha_session",), Provider.SANDBOX: ()}
SECRET_FIELDS = frozenset({"access_token", "app_secret", "verify_token", "waha_api_key", "waha_webhook_hmac_key"})
# settings/whatsapp takes the seed's body, which has no app secret: such a number sends, and its inbound
# webhooks are refused (401) until an app secret is set.
SETTINGS_REQUIRED = ("phone_number_id", "waba_id", "access_token", "verify_token")
SETTINGS_DISPLAY_NAME = "WhatsApp"
# What the webhook views keep per process to authenticate a number's webhooks (see selectors.ingest).
WEBHOOK_AUTH_FIELDS = frozenset({"app_secret", "phone_number_id", "waha_session", "waha_webhook_hmac_key"})


def _field_error(field: str, message: str) -> ServiceError:
    return ServiceError(f"{field}: {message}", errors={field: [message]})


def _fields_error(fields: Collection[str], message: str) -> ServiceError:
    names = sorted(fields)
    return ServiceError(f"{names[0]}: {message}", errors={name: [message] for name in names})


def _check_waha_base_url(provider: str, url: str) -> None:
    """A WAHA server of the tenant's choice must pass the egress policy (public, or allowed by the operator).
    Resolves the host: call it before the transaction, never inside one."""
    if provider != Provider.WAHA or not url:
        return
    try:
        egress.check_base_url(url)
    except egress.AddressNotAllowed as exc:
        raise _field_error("waha_base_url", str(exc)) from None


def _lock_numbers(organization: Organization) -> None:
    """Serialise writes to this organization's numbers. Must be called inside a transaction."""
    Organization.objects.select_for_update().only("pk").get(pk=organization.pk)


def _live_number(number: WhatsAppNumber) -> WhatsAppNumber:
    """The number read again (under the caller's lock); a 404 once it was deleted meanwhile."""
    fresh = selectors.number_list(org=number.organization).filter(pk=number.pk).first()
    if fresh is None:
        raise ServiceError("Not found.", status_code=404, code="not_found")
    return fresh


def _check_fields_apply(provider: str, fields: dict[str, str]) -> None:
    foreign = [name for name, value in fields.items() if value and name not in PROVIDER_FIELDS[provider]]
    if foreign:
        raise _fields_error(foreign, gettext("Does not apply to %(provider)s numbers.") % {"provider": provider})


def _check_required(number: WhatsAppNumber, names: Collection[str]) -> None:
    missing = [name for name in names if not getattr(number, name)]
    if missing:
        message = gettext("This field is required for %(provider)s numbers.") % {"provider": number.provider}
        raise _fields_error(missing, message)


def _check_unique(number: WhatsAppNumber) -> None:
    """Within the organization only, like the database constraints: what other organizations connected is none of
    this one's business (see WhatsAppNumber.Meta). Caller holds the organization's number lock."""
    others = selectors.number_list(org=number.organization).exclude(pk=number.pk)
    if number.phone_number_id and others.filter(phone_number_id=number.phone_number_id).exists():
        raise _field_error("phone_number_id", gettext("Another number of this organization has this phone_number_id."))
    if number.waha_session and others.filter(waha_session=number.waha_session).exists():
        raise _field_error("waha_session", gettext("Another number of this organization uses this WAHA session."))


def _check_hmac_key(key: str | None) -> None:
    if not (key or "").strip():
        raise _field_error(
            "waha_webhook_hmac_key",
            "WAHA webhooks are refused without a key: it can be rotated (send a new one), not removed.",
        )


def _e164(phone_number: str) -> str:
    return phone_or_error(phone_number, field="phone_number") if phone_number.strip() else ""


def _waha_session_name(number: WhatsAppNumber) -> str:
    """The number's session name, generated when blank.

    On the hub's own WAHA server the name always carries the organization's prefix (`org<id>-`): organizations
    share that server, and none may reach (start, log out, read the QR of) another's session by naming it.
    """
    shared = uses_shared_waha(number)
    prefix = f"org{number.organization_id}-"
    name = number.waha_session or f"{prefix if shared else 'hub-'}{secrets.token_hex(4)}"
    return prefix + name if shared and not name.startswith(prefix) else name


def _unset_primary(organization: Organization) -> None:
    selectors.number_list(org=organization).filter(is_primary=True).update(is_primary=False)


def _after_commit(task: Any, number: WhatsAppNumber) -> None:
    """Queue a WAHA housekeeping task once committed."""
    enqueue_after_commit(task, organization_id=number.organization_id, number_id=number.pk)


# --- numbers -------------------------------------------------------------------------------------------


def _number_create(
    *,
    organization: Organization,
    actor,
    display_name: str,
    provider: str,
    phone_number: str,
    is_primary: bool,
    throughput: int | None,
    fields: dict[str, str],
    required: Collection[str],
    messaging_limit_tier: str | None = None,
) -> WhatsAppNumber:
    """Caller holds the organization's number lock."""
    _check_fields_apply(provider, fields)
    number = WhatsAppNumber(
        organization=organization,
        display_name=display_name,
        provider=provider,
        phone_number=_e164(phone_number),
        **fields,
    )
    if throughput is not None:
        number.throughput = throughput
    if messaging_limit_tier is not None:
        number.messaging_limit_tier = messaging_limit_tier
    if provider == Provider.WAHA:
        number.waha_session = _waha_session_name(number)
        # WAHA signs its webhooks with this key (HMAC-SHA512): secure by default, set on the session we create.
        number.waha_webhook_hmac_key = number.waha_webhook_hmac_key or secrets.token_urlsafe(32)
        number.status = WhatsAppNumber.Status.PENDING
        number.session_status = WhatsAppNumber.SessionStatus.STOPPED
    _check_required(number, required)
    _check_unique(number)
    number.is_primary = is_primary or not selectors.number_list(org=organization).exists()
    if number.is_primary:
        _unset_primary(organization)
    number.save()
    access_changed_on_commit(organization_id=organization.pk)  # unassigned: the live inbox of everyone shows it
    audit_log_write(
        organization=organization,
        actor=actor,
        action="number.create",
        target=number,
        data={"display_name": number.display_name, "provider": provider, "phone_number_id": number.phone_number_id},
    )
    if provider == Provider.WAHA:
        _after_commit(number_tasks.waha_session_sync, number)
    return number


def number_create(
    *,
    organization: Organization,
    actor,
    display_name: str,
    provider: str = Provider.CLOUD,
    phone_number: str = "",
    is_primary: bool = False,
    throughput: int | None = None,
    **fields: str,
) -> WhatsAppNumber:
    """Connect a number. `fields`: the provider's own (CLOUD_FIELDS or WAHA_FIELDS); those of another provider
    are refused. The organization's first number becomes primary; a new primary unsets the previous one.
    A WAHA number gets a session name and a webhook HMAC key when none is given, and its session is created
    on WAHA after commit (not started), or given the hub's webhook when it exists already. A `waha_base_url`
    must pass the egress policy (whatsapp_hub/egress.py). A new number's status is set here, not given."""
    if "status" in fields:
        raise _field_error("status", "A new number's status is set by the hub.")
    if throughput is not None:
        fields["throughput"] = throughput
    fields = number_fields.check(
        {"display_name": display_name, "provider": provider, "phone_number": phone_number, "is_primary": is_primary}
        | fields
    )
    display_name, provider, phone_number, is_primary = (
        fields.pop(name) for name in ("display_name", "provider", "phone_number", "is_primary")
    )
    throughput = fields.pop("throughput", None)
    messaging_limit_tier = fields.pop("messaging_limit_tier", None)
    _check_waha_base_url(provider, fields.get("waha_base_url", ""))
    with transaction.atomic():
        _lock_numbers(organization)
        numbers = WhatsAppNumber.objects.for_org(organization).live().count()
        plans.limit_check(organization=organization, resource="numbers", used=numbers)  # 400 numbers_limit_reached
        return _number_create(
            organization=organization,
            actor=actor,
            display_name=display_name,
            provider=provider,
            phone_number=phone_number,
            is_primary=is_primary,
            throughput=throughput,
            fields=fields,
            required=REQUIRED_FIELDS[provider],
            messaging_limit_tier=messaging_limit_tier,
        )


def _number_update(*, number: WhatsAppNumber, actor, changes: dict[str, Any]) -> WhatsAppNumber:
    """Caller holds the organization's number lock."""
    number = _live_number(number)
    is_primary = changes.pop("is_primary", None)
    if "phone_number" in changes:
        changes["phone_number"] = _e164(changes["phone_number"])
    _check_fields_apply(
        number.provider,
        {name: value for name, value in changes.items() if name in CLOUD_FIELDS + WAHA_FIELDS},
    )
    if number.provider == Provider.WAHA and "waha_webhook_hmac_key" in changes:
        _check_hmac_key(changes["waha_webhook_hmac_key"])
    changed = []
    for name, value in changes.items():
        current = getattr(number, name)
        if name in SECRET_FIELDS and value == mask(current):
            continue  # the masked value of a GET sent back: unchanged
        if value != current:
            setattr(number, name, value)
            changed.append(name)
    _check_required(number, [name for name in changed if name in REQUIRED_FIELDS[number.provider]])
    if number.provider == Provider.WAHA and {"waha_session", "waha_base_url"} & set(changed):
        session = _waha_session_name(number)
        if session != number.waha_session:
            number.waha_session = session
            changed = [*{*changed, "waha_session"}]
    _check_unique(number)
    if is_primary and not number.is_primary:
        _unset_primary(number.organization)
        number.is_primary = True
        changed.append("is_primary")
    elif is_primary is False and number.is_primary:
        raise _field_error("is_primary", "The primary number stays primary until another number is made primary.")
    if changed:
        number.save(update_fields=changed)
        if WEBHOOK_AUTH_FIELDS & set(changed):
            _forget_webhook_secrets_on_commit(number)
        if number.provider == Provider.WAHA and set(WAHA_FIELDS) & set(changed):
            # A new HMAC key must reach the session's config; a new session, server or key may reach WAHA now.
            _after_commit(number_tasks.waha_session_sync, number)
        audit_log_write(
            organization=number.organization,
            actor=actor,
            action="number.update",
            target=number,
            data={"changed": sorted(changed)},
        )
    return number


def number_update(*, number: WhatsAppNumber, actor, **changes: Any) -> WhatsAppNumber:
    """Change the fields given (display_name, phone_number, is_primary, throughput, messaging_limit_tier, status, the
    provider's
    fields, and those the apps built on messaging add: messaging/extensions.py, saved by their extension in this
    transaction); a secret omitted, or sent back in its masked form, stays as it is. The provider cannot change.
    A changed WAHA field syncs the number's session on WAHA after commit (see `waha_session_sync`); a new
    `waha_base_url` must pass the egress policy (whatsapp_hub/egress.py)."""
    if "provider" in changes:
        raise _field_error("provider", "The provider of a number cannot change: connect a new number instead.")
    extended = extensions.number_values_pop(changes)
    changes = number_fields.check(changes)
    if changes.get("waha_base_url", number.waha_base_url) != number.waha_base_url:
        _check_waha_base_url(number.provider, changes["waha_base_url"])
    with transaction.atomic():
        _lock_numbers(number.organization)
        number = _number_update(number=number, actor=actor, changes=changes)
        extensions.number_values_save(number=number, actor=actor, values=extended)
        return number


@transaction.atomic
def number_delete(*, number: WhatsAppNumber, actor) -> None:
    """Soft delete: the number leaves every list, its conversations and messages stay (read-only). The oldest
    remaining number becomes primary if this one was; a WAHA number's session is deleted on WAHA after commit."""
    _lock_numbers(number.organization)
    number = _live_number(number)
    was_primary = number.is_primary
    number.deleted_at = timezone.now()
    number.is_primary = False
    number.save(update_fields=["deleted_at", "is_primary"])
    if was_primary:
        successor = selectors.number_list(org=number.organization).order_by("created_at", "id").first()
        if successor is not None:
            successor.is_primary = True
            successor.save(update_fields=["is_primary"])
    audit_log_write(
        organization=number.organization,
        actor=actor,
        action="number.delete",
        target=number,
        data={"display_name": number.display_name, "provider": number.provider},
    )
    if number.provider == Provider.WAHA:
        _after_commit(number_tasks.waha_session_discard, number)
    _forget_webhook_secrets_on_commit(number)


def _forget_webhook_secrets_on_commit(number: WhatsAppNumber) -> None:
    """A replaced or deleted secret must stop verifying webhooks at once (the views keep secrets)."""
    organization_id = number.organization_id
    run_after_commit(partial(ingest_selectors.webhook_secrets_forget, organization_id=organization_id))


@transaction.atomic
def number_assign(*, number: WhatsAppNumber, actor, user_id: int | None, team_id: int | None) -> WhatsAppNumber:
    """Set who works this number: an active member and/or a team of its organization (None clears)."""
    organization = number.organization
    members = Membership.objects.for_org(organization).filter(is_active=True)
    if user_id is not None and not members.filter(user_id=user_id).exists():
        raise _field_error("user_id", gettext("No active member of this organization has this id."))
    if team_id is not None and not Team.objects.for_org(organization).filter(pk=team_id).exists():
        raise _field_error("team_id", gettext("No team of this organization has this id."))
    _lock_numbers(organization)
    number = _live_number(number)
    number.assigned_user_id, number.assigned_team_id = user_id, team_id
    number.save(update_fields=["assigned_user", "assigned_team"])
    access_changed_on_commit(organization_id=organization.pk)
    audit_log_write(
        organization=organization,
        actor=actor,
        action="number.assign",
        target=number,
        data={"user_id": user_id, "team_id": team_id},
    )
    return number


@transaction.atomic
def whatsapp_settings_save(
    *,
    organization: Organization,
    actor,
    whatsapp_token: str,
    phone_number_id: str,
    waba_id: str,
    verify_token: str,
    app_secret: str | None = None,
) -> WhatsAppNumber:
    """settings/whatsapp: store the credentials on the primary Cloud number.

    Updates the primary number when it is a Cloud number, else the organization's Cloud number with this
    phone_number_id (made primary), else creates a Cloud number and makes it primary. `app_secret` omitted:
    unchanged.
    """
    fields = {
        "access_token": whatsapp_token,
        "phone_number_id": phone_number_id,
        "waba_id": waba_id,
        "verify_token": verify_token,
    }
    if app_secret is not None:
        fields["app_secret"] = app_secret
    fields = number_fields.check(fields)
    _lock_numbers(organization)
    same_line = selectors.number_list(org=organization).filter(
        provider=Provider.CLOUD, phone_number_id=fields["phone_number_id"]
    )
    number = selectors.whatsapp_settings_number(org=organization) or same_line.first()
    if number is None:
        return _number_create(
            organization=organization,
            actor=actor,
            display_name=SETTINGS_DISPLAY_NAME,
            provider=Provider.CLOUD,
            phone_number="",
            is_primary=True,
            throughput=None,
            fields=fields,
            required=SETTINGS_REQUIRED,
        )
    return _number_update(number=number, actor=actor, changes={**fields, "is_primary": True})


# --- Meta's news about a WhatsApp Business Account's numbers --------------------------------------------------------

# Meta's messaging limits as its webhooks name them (numbers of customers, -1 unlimited; or the tier's name).
META_LIMITS = {
    "250": MessagingLimitTier.TIER_250,
    "2000": MessagingLimitTier.TIER_2K,
    "10000": MessagingLimitTier.TIER_10K,
    "100000": MessagingLimitTier.TIER_100K,
    "-1": MessagingLimitTier.TIER_UNLIMITED,
    "UNLIMITED": MessagingLimitTier.TIER_UNLIMITED,
    **{tier.value: tier for tier in MessagingLimitTier},
}
HIGH_THROUGHPUT = 1000  # messages per second after Meta's THROUGHPUT_UPGRADE (reference §6.1)


def _meta_limit(value: dict) -> str | None:
    for key in ("max_daily_conversations_per_business", "max_daily_conversation_per_phone", "current_limit"):
        tier = META_LIMITS.get(str(value.get(key, "")).strip().upper())
        if tier is not None:
            return tier
    return None


def _quality_event_keep(numbers, value: dict) -> None:
    """Keep Meta's latest quality event of these numbers (FLAGGED, UNFLAGGED, DOWNGRADE, UPGRADE...: a word of
    Meta's enumeration, kept to letters, digits and underscores) for Settings > Integrations."""
    event = "".join(ch for ch in str(value.get("event") or "") if ch.isalnum() or ch == "_")[:40]
    if not event:
        return
    for number in numbers:
        integration_details_merge(
            organization_id=number.organization_id,
            kind=IntegrationKind.WHATSAPP_NUMBER,
            object_id=number.pk,
            details={"quality_event": event, "quality_event_at": timezone.now().isoformat()},
        )


def numbers_meta_update(*, organization: Organization, waba_id: str, field: str, value: dict) -> int:
    """Apply a `business_capability_update`, `phone_number_quality_update` or `account_update` webhook of the WhatsApp
    Business Account `waba_id`: the messaging limit it names (Meta sets it per business portfolio: every number of
    the account), and a THROUGHPUT_UPGRADE (1,000 messages/s) to the number of its `display_phone_number`. Limits
    Meta no longer uses (TIER_50, TIER_1K, TIER_NOT_SET) change nothing. What is news for the admins (a quality or
    account event, a new limit) goes to the system log. Returns how many numbers changed."""
    numbers = WhatsAppNumber.objects.for_org(organization).live().filter(waba_id=waba_id) if waba_id else None
    if numbers is None:
        return 0
    changed = 0
    tier = _meta_limit(value)
    if tier is not None:
        changed += numbers.exclude(messaging_limit_tier=tier).update(messaging_limit_tier=tier)
    display = "".join(ch for ch in str(value.get("display_phone_number", "")) if ch.isdigit())
    if field == "phone_number_quality_update" and display:
        _quality_event_keep(numbers.filter(phone_number=f"+{display}"), value)
    if field == "phone_number_quality_update" and value.get("event") == "THROUGHPUT_UPGRADE" and display:
        upgraded = numbers.filter(phone_number=f"+{display}").exclude(throughput=HIGH_THROUGHPUT)
        changed += upgraded.update(throughput=HIGH_THROUGHPUT)
    if changed:
        logger.info("number changes from Meta (%s of %s): %s", field, waba_id, value)
    system_log.numbers_meta_news(
        organization_id=organization.pk, waba_id=waba_id, field=field, value=value, changed=changed
    )
    event = str(value.get("event") or "")
    if system_log.META_EVENT_LEVELS.get(event) == SystemLog.Level.ERROR:  # downgraded, disabled, restricted...
        notifications.admins_notify_integration(
            organization=organization,
            title=notifications.TITLES["meta_event"],
            params={"event": event[:40], "account": f"+{display}" if display else waba_id[:40]},
            link=reverse("settings-numbers"),
        )
    return changed


CHECK_TIMEOUT = (3.05, 10.0)  # (connect, read) seconds of a "test now"


def number_connection_check(*, number: WhatsAppNumber) -> None:
    """Check the number's connection now and record the outcome for Settings > Integrations (a forced write): a Cloud
    number's token and phone number id (GET the number from the Graph API: its quality rating is kept), a WAHA
    number's session (WORKING is ok; its status is stored on the number as waha_session_get does), a sandbox number
    (no network: always ok). Never raises for the service's answer: the outcome is in the record."""
    record = {
        "organization_id": number.organization_id,
        "kind": IntegrationKind.WHATSAPP_NUMBER,
        "object_id": number.pk,
    }
    if number.provider == Provider.SANDBOX:
        integration_ok(**record, details={}, force=True)
        return
    if number.provider == Provider.CLOUD:
        if not number.phone_number_id or not number.access_token:
            integration_failed(**record, error_code="not_configured", force=True)
            return
        provider = provider_for(number)
        provider.config = replace(provider.config, timeout=CHECK_TIMEOUT)
        try:
            details = provider.phone_number()
        except ProviderError as exc:
            logger.info("number %s: connection check failed: %r", number.pk, exc)
            code = connection_error_code(exc) or ("not_found" if exc.code == 100 else "rejected")
            integration_failed(**record, error_code=code, http_status=exc.http_status, force=True)
            return
        integration_ok(**record, details=details, force=True)
        return
    try:
        session = waha_session_get(number=number)
    except ServiceError as refused:
        integration_failed(**record, error_code=refused.code or "waha_error", force=True)
        return
    status = str(session.get("status") or "")
    if status == WhatsAppNumber.SessionStatus.WORKING:
        integration_ok(**record, details={"session_status": status}, force=True)
    else:
        integration_failed(**record, error_code="session_not_working", force=True)
