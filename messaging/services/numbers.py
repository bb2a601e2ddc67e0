"""WhatsApp numbers: create, update, soft delete, primary, assignment, settings/whatsapp, and WAHA sessions.

Every write to an organization's numbers first locks its organization row, so "one primary number" and "the
first number becomes primary" hold under concurrent requests. WAHA is only ever called outside a transaction:
a session operation talks to WAHA, then stores what WAHA answered with one short update.
"""

import logging
import secrets
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any, cast

from django.db import transaction
from django.utils import timezone

from accounts.models import Membership, Organization, Team
from accounts.services import audit_log_write
from messaging.models import Provider, WhatsAppNumber
from messaging.phones import e164_from_wa_id
from messaging.providers import ProviderError, WahaProvider, provider_for
from messaging.providers.waha import is_hub_server, session_webhook
from messaging.selectors import ingest as ingest_selectors
from messaging.selectors import numbers as selectors
from messaging.services.contacts import phone_or_error
from messaging.services.retries import MAX_ATTEMPTS, RetryLater, backoff_countdown
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

SessionStatus = WhatsAppNumber.SessionStatus
NUMBER_STATUS_FOR_SESSION = {
    SessionStatus.WORKING: WhatsAppNumber.Status.ACTIVE,
    SessionStatus.STARTING: WhatsAppNumber.Status.PENDING,
    SessionStatus.SCAN_QR_CODE: WhatsAppNumber.Status.PENDING,
    SessionStatus.STOPPED: WhatsAppNumber.Status.DISCONNECTED,
    SessionStatus.FAILED: WhatsAppNumber.Status.DISCONNECTED,
}


def _field_error(field: str, message: str) -> ServiceError:
    return ServiceError(f"{field}: {message}", errors={field: [message]})


def _fields_error(fields: Collection[str], message: str) -> ServiceError:
    names = sorted(fields)
    return ServiceError(f"{names[0]}: {message}", errors={name: [message] for name in names})


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
        raise _fields_error(foreign, f"Does not apply to {provider} numbers.")


def _check_required(number: WhatsAppNumber, names: Collection[str]) -> None:
    missing = [name for name in names if not getattr(number, name)]
    if missing:
        raise _fields_error(missing, f"This field is required for {number.provider} numbers.")


def _check_unique(number: WhatsAppNumber) -> None:
    if number.phone_number_id:
        # Across organizations on purpose, like the database constraint: Meta's id names one phone line, and
        # its inbound webhooks are routed by it.
        taken = WhatsAppNumber.objects.live().filter(phone_number_id=number.phone_number_id).exclude(pk=number.pk)
        if taken.exists():
            raise _field_error("phone_number_id", "A number with this phone_number_id is already connected.")
    if number.waha_session:
        taken = selectors.number_list(org=number.organization).filter(waha_session=number.waha_session)
        if taken.exclude(pk=number.pk).exists():
            raise _field_error("waha_session", "Another number of this organization uses this WAHA session.")


def _e164(phone_number: str) -> str:
    return phone_or_error(phone_number, field="phone_number") if phone_number.strip() else ""


def _uses_shared_waha(number: WhatsAppNumber) -> bool:
    """True when the number's sessions live on the hub's own WAHA server (settings.WAHA_URL)."""
    return not number.waha_base_url or is_hub_server(number.waha_base_url)


def _waha_session_name(number: WhatsAppNumber) -> str:
    """The number's session name, generated when blank.

    On the hub's own WAHA server the name always carries the organization's prefix (`org<id>-`): organizations
    share that server, and none may reach (start, log out, read the QR of) another's session by naming it.
    """
    shared = _uses_shared_waha(number)
    prefix = f"org{number.organization_id}-"
    name = number.waha_session or f"{prefix if shared else 'hub-'}{secrets.token_hex(4)}"
    return prefix + name if shared and not name.startswith(prefix) else name


def _unset_primary(organization: Organization) -> None:
    selectors.number_list(org=organization).filter(is_primary=True).update(is_primary=False)


def _after_commit(task: Callable[..., Any], number: WhatsAppNumber) -> None:
    """Queue a WAHA housekeeping task once committed; a broker failure is logged, never fails the request."""
    transaction.on_commit(partial(task.delay, organization_id=number.organization_id, number_id=number.pk), robust=True)


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
) -> WhatsAppNumber:
    """Caller holds the organization's number lock."""
    from messaging.tasks.numbers import waha_session_sync  # tasks import this module

    _check_fields_apply(provider, fields)
    number = WhatsAppNumber(
        organization=organization,
        display_name=display_name.strip(),
        provider=provider,
        phone_number=_e164(phone_number),
        **fields,
    )
    if throughput is not None:
        number.throughput = throughput
    if provider == Provider.WAHA:
        number.waha_session = _waha_session_name(number)
        # WAHA signs its webhooks with this key (HMAC-SHA512): secure by default, set on the session we create.
        number.waha_webhook_hmac_key = number.waha_webhook_hmac_key or secrets.token_urlsafe(32)
        number.status = WhatsAppNumber.Status.PENDING
        number.session_status = SessionStatus.STOPPED
    _check_required(number, required)
    _check_unique(number)
    number.is_primary = is_primary or not selectors.number_list(org=organization).exists()
    if number.is_primary:
        _unset_primary(organization)
    number.save()
    audit_log_write(
        organization=organization,
        actor=actor,
        action="number.create",
        target=number,
        data={"display_name": number.display_name, "provider": provider, "phone_number_id": number.phone_number_id},
    )
    if provider == Provider.WAHA:
        _after_commit(waha_session_sync, number)
    return number


@transaction.atomic
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
    on WAHA after commit (not started), or given the hub's webhook when it exists already."""
    _lock_numbers(organization)
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
    )


def _number_update(*, number: WhatsAppNumber, actor, changes: dict[str, Any]) -> WhatsAppNumber:
    """Caller holds the organization's number lock."""
    from messaging.tasks.numbers import waha_session_sync  # tasks import this module

    number = _live_number(number)
    is_primary = changes.pop("is_primary", None)
    if "phone_number" in changes:
        changes["phone_number"] = _e164(changes["phone_number"])
    if "display_name" in changes:
        changes["display_name"] = changes["display_name"].strip()
    _check_fields_apply(
        number.provider,
        {name: value for name, value in changes.items() if name in CLOUD_FIELDS + WAHA_FIELDS},
    )
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
        if {"app_secret", "phone_number_id"} & set(changed):
            _forget_webhook_secrets_on_commit(number)
        if number.provider == Provider.WAHA and set(WAHA_FIELDS) & set(changed):
            # A new HMAC key must reach the session's config; a new session, server or key may reach WAHA now.
            _after_commit(waha_session_sync, number)
        audit_log_write(
            organization=number.organization,
            actor=actor,
            action="number.update",
            target=number,
            data={"changed": sorted(changed)},
        )
    return number


@transaction.atomic
def number_update(*, number: WhatsAppNumber, actor, **changes: Any) -> WhatsAppNumber:
    """Change the fields given (display_name, phone_number, is_primary, throughput, status, the provider's
    fields); a secret omitted, or sent back in its masked form, stays as it is. The provider cannot change.
    A changed WAHA field syncs the number's session on WAHA after commit (see `waha_session_sync`)."""
    _lock_numbers(number.organization)
    return _number_update(number=number, actor=actor, changes=changes)


@transaction.atomic
def number_delete(*, number: WhatsAppNumber, actor) -> None:
    """Soft delete: the number leaves every list, its conversations and messages stay (read-only). The oldest
    remaining number becomes primary if this one was; a WAHA number's session is deleted on WAHA after commit."""
    from messaging.tasks.numbers import waha_session_discard  # tasks import this module

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
        _after_commit(waha_session_discard, number)
    _forget_webhook_secrets_on_commit(number)


def _forget_webhook_secrets_on_commit(number: WhatsAppNumber) -> None:
    """A replaced or deleted app secret must stop verifying webhooks at once (the view caches secrets)."""
    organization_id = number.organization_id
    transaction.on_commit(lambda: ingest_selectors.meta_webhook_secrets_forget(organization_id=organization_id))


@transaction.atomic
def number_assign(*, number: WhatsAppNumber, actor, user_id: int | None, team_id: int | None) -> WhatsAppNumber:
    """Set who works this number: an active member and/or a team of its organization (None clears)."""
    organization = number.organization
    members = Membership.objects.for_org(organization).filter(is_active=True)
    if user_id is not None and not members.filter(user_id=user_id).exists():
        raise _field_error("user_id", "No active member of this organization has this id.")
    if team_id is not None and not Team.objects.for_org(organization).filter(pk=team_id).exists():
        raise _field_error("team_id", "No team of this organization has this id.")
    _lock_numbers(organization)
    number = _live_number(number)
    number.assigned_user_id, number.assigned_team_id = user_id, team_id
    number.save(update_fields=["assigned_user", "assigned_team"])
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
    _lock_numbers(organization)
    fields = {
        "access_token": whatsapp_token,
        "phone_number_id": phone_number_id,
        "waba_id": waba_id,
        "verify_token": verify_token,
    }
    if app_secret is not None:
        fields["app_secret"] = app_secret
    same_line = selectors.number_list(org=organization).filter(provider=Provider.CLOUD, phone_number_id=phone_number_id)
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


# --- WAHA sessions -------------------------------------------------------------------------------------


def _waha(number: WhatsAppNumber) -> WahaProvider:
    """The number's WAHA client (its own server and key, else the hub's); a 400 for a number of another provider."""
    if number.provider != Provider.WAHA:
        raise ServiceError(
            f"{number.display_name} is a {number.provider} number: only WAHA numbers have a session.",
            code="not_waha",
        )
    return cast(WahaProvider, provider_for(number))


def _waha_service_error(number: WhatsAppNumber, exc: ProviderError) -> ServiceError:
    """What an admin is told when WAHA refuses or fails (WAHA's hosts and keys are never in the detail)."""
    status = exc.http_status
    if status is None:
        return ServiceError(
            f"WAHA is unreachable ({exc.title.lower()}): check that it runs and that the number's WAHA URL is right.",
            status_code=502,
            code="waha_unreachable",
        )
    if status in (401, 403):
        own_key = number.waha_api_key or not _uses_shared_waha(number)
        key = "the number's waha_api_key" if own_key else "the hub's WAHA_API_KEY, or set the number's waha_api_key"
        return ServiceError(f"WAHA refused the API key: check {key}.", status_code=502, code="waha_unauthorized")
    if status == 404:
        return ServiceError(
            f"WAHA has no session {number.waha_session!r}: start the session first.",
            status_code=409,
            code="waha_session_missing",
        )
    raw = exc.raw if isinstance(exc.raw, dict) else {}
    if status == 422 and raw.get("status") and raw.get("expected"):
        return ServiceError(
            f"The WAHA session is {raw['status']}; this needs it to be {' or '.join(map(str, raw['expected']))}.",
            status_code=409,
            code="waha_session_state",
        )
    if 400 <= status < 500:
        return ServiceError(f"WAHA refused the request: {exc.detail}", status_code=409 if status == 422 else 400)
    return ServiceError(f"WAHA failed (HTTP {status}).", status_code=502, code="waha_error")


@contextmanager
def _waha_errors(number: WhatsAppNumber) -> Iterator[None]:
    """Turn a ProviderError into the admin's 4xx/502; a 422 naming the session's status also stores it."""
    try:
        yield
    except ProviderError as exc:
        logger.warning("WAHA call for number %s failed: %r", number.pk, exc)
        if isinstance(exc.raw, dict) and exc.raw.get("status") and exc.raw.get("expected"):
            number_session_status_record(number=number, status=str(exc.raw["status"]))
        raise _waha_service_error(number, exc) from exc


def _session_answer(provider: WahaProvider, answer: Any) -> dict:
    """WAHA's session object from an action's answer, or read again when the answer did not carry it."""
    return answer if isinstance(answer, dict) and answer.get("status") else provider.get_session()


def _hub_webhook(number: WhatsAppNumber) -> dict:
    """The webhook the hub registers on the number's session: its organization's URL, signed with the number's key."""
    return session_webhook(
        selectors.waha_webhook_url(organization_id=number.organization_id),
        hmac_key=number.waha_webhook_hmac_key or None,
    )


def _has_webhook(config: dict, webhook: dict) -> bool:
    """True when `webhook` is the config's only one (WAHA answers with more keys, e.g. `retries`: null)."""
    hooks = config.get("webhooks") or []
    return len(hooks) == 1 and isinstance(hooks[0], dict) and all(hooks[0].get(k) == v for k, v in webhook.items())


def _waha_session_ensure(number: WhatsAppNumber, *, start: bool) -> dict:
    """The session on WAHA with the hub's webhook: created when missing (and started if asked); an existing one
    whose webhooks are not just the hub's gets its full config back with them replaced by PUT (the rest, e.g. a
    proxy, is kept; WAHA restarts it unless STOPPED); a stopped or failed one is started when `start`.

    Idempotent: a session that already carries the hub's webhook is not updated.
    """
    provider = _waha(number)
    webhook = _hub_webhook(number)
    try:
        session = provider.get_session()
    except ProviderError as exc:
        if exc.http_status != 404:
            raise
        try:
            return provider.create_session(start=start, config={"webhooks": [webhook]})
        except ProviderError as create_error:
            if create_error.http_status != 422:
                raise
            try:  # created meanwhile by a concurrent call: use that one
                session = provider.get_session()
            except ProviderError:
                raise create_error from None
    config = session.get("config") or {}
    if not _has_webhook(config, webhook):
        session = _session_answer(provider, provider.update_session({**config, "webhooks": [webhook]}))
    if start and session.get("status") in (SessionStatus.STOPPED, SessionStatus.FAILED):
        session = _session_answer(provider, provider.start_session())
    return session


def number_session_status_record(*, number: WhatsAppNumber, status: str, me: dict | None = None) -> None:
    """Store a WAHA session's status on its number (from WAHA's answer or a session.status webhook); the number's
    own status follows (WORKING: active; starting or waiting for the QR: pending; else disconnected), and a
    WORKING session fills a blank phone_number from WAHA's `me`. Statuses this hub does not model (e.g.
    PASSKEY_REQUIRED) are not stored. Idempotent."""
    if status not in SessionStatus.values:
        return
    updates: dict[str, str] = {"session_status": status, "status": NUMBER_STATUS_FOR_SESSION[status]}
    me_id = str((me or {}).get("id") or "")
    if status == SessionStatus.WORKING and not number.phone_number and me_id.endswith("@c.us"):
        phone = e164_from_wa_id(me_id.removesuffix("@c.us"))
        if phone:
            updates["phone_number"] = phone
    WhatsAppNumber.objects.filter(organization_id=number.organization_id, pk=number.pk).update(**updates)
    for name, value in updates.items():
        setattr(number, name, value)


def _session_view(number: WhatsAppNumber, session: dict) -> dict:
    number_session_status_record(number=number, status=str(session.get("status")), me=session.get("me"))
    return {"name": number.waha_session, "status": session.get("status"), "me": session.get("me")}


def waha_session_get(*, number: WhatsAppNumber) -> dict:
    """The session's status as WAHA tells it now (stored on the number); a session WAHA does not know is STOPPED."""
    provider = _waha(number)
    with _waha_errors(number):
        try:
            session = provider.get_session()
        except ProviderError as exc:
            if exc.http_status != 404:
                raise
            session = {"status": SessionStatus.STOPPED, "me": None}
    return _session_view(number, session)


def _waha_session_action(number: WhatsAppNumber, *, actor, action: str, call: Callable[[], dict]) -> dict:
    with _waha_errors(number):
        session = call()
    audit_log_write(
        organization=number.organization,
        actor=actor,
        action=f"number.session_{action}",
        target=number,
        data={"session": number.waha_session, "status": session.get("status")},
    )
    return _session_view(number, session)


def waha_session_start(*, number: WhatsAppNumber, actor) -> dict:
    """Create the session on WAHA if it is missing, and start it. Idempotent."""
    return _waha_session_action(
        number, actor=actor, action="start", call=lambda: _waha_session_ensure(number, start=True)
    )


def waha_session_stop(*, number: WhatsAppNumber, actor) -> dict:
    """Stop the session (it stays logged in). Idempotent."""
    provider = _waha(number)
    return _waha_session_action(
        number, actor=actor, action="stop", call=lambda: _session_answer(provider, provider.stop_session())
    )


def waha_session_logout(*, number: WhatsAppNumber, actor) -> dict:
    """Log the session out of WhatsApp (WAHA keeps its configuration; the next start asks for a new QR)."""
    provider = _waha(number)
    return _waha_session_action(
        number, actor=actor, action="logout", call=lambda: _session_answer(provider, provider.logout_session())
    )


def waha_session_qr(*, number: WhatsAppNumber) -> bytes:
    """The session's current QR code as PNG bytes, as WAHA serves it (a 409 unless the session is SCAN_QR_CODE)."""
    provider = _waha(number)
    with _waha_errors(number):
        return provider.qr_png()


def waha_pairing_code(*, number: WhatsAppNumber, phone_number: str, actor) -> str:
    """A code the phone's owner types in WhatsApp (Linked devices, link with phone number) instead of the QR."""
    provider = _waha(number)
    e164 = phone_or_error(phone_number, field="phone_number")
    with _waha_errors(number):
        code = provider.request_pairing_code(e164)
    if not code:
        raise ServiceError("WAHA answered without a pairing code.", status_code=502, code="waha_error")
    audit_log_write(
        organization=number.organization,
        actor=actor,
        action="number.session_pairing_code",
        target=number,
        data={"session": number.waha_session},
    )
    return code


def _waha_number(*, organization_id: int, number_id: int) -> WhatsAppNumber | None:
    return WhatsAppNumber.objects.filter(organization_id=organization_id, pk=number_id, provider=Provider.WAHA).first()


def waha_session_sync(*, organization_id: int, number_id: int, attempt: int = MAX_ATTEMPTS) -> None:
    """After a WAHA number is created or its WAHA fields change: its session on WAHA, created when missing (not
    started) or given the hub's webhook (`_waha_session_ensure`), and WAHA's status of it stored when it differs.

    Idempotent. A transient failure raises RetryLater (until `attempt` reaches MAX_ATTEMPTS); a lasting one is
    logged and written to the organization's audit log: the number keeps its change, and the next session start,
    or change of a WAHA field, syncs again.
    """
    number = _waha_number(organization_id=organization_id, number_id=number_id)
    if number is None or number.deleted_at is not None:
        return
    try:
        session = _waha_session_ensure(number, start=False)
    except ProviderError as exc:
        if exc.retryable and attempt < MAX_ATTEMPTS:
            raise RetryLater(backoff_countdown(attempt)) from exc
        detail = _waha_service_error(number, exc).detail
        logger.warning("WAHA session of number %s not synced: %s (%r)", number.pk, detail, exc)
        audit_log_write(
            organization=number.organization,
            actor=None,
            action="number.session_sync_failed",
            target=number,
            data={"session": number.waha_session, "detail": detail},
        )
        return
    # A new number's new session is STOPPED, as the number already says (and it stays pending).
    if session.get("status") != number.session_status:
        number_session_status_record(number=number, status=str(session.get("status")), me=session.get("me"))


def waha_session_discard(*, organization_id: int, number_id: int) -> None:
    """Delete a deleted number's session on WAHA (stop, log out, drop its configuration), unless a live number
    of the organization uses the same session again. Idempotent; raises ProviderError."""
    number = _waha_number(organization_id=organization_id, number_id=number_id)
    if number is None or number.deleted_at is None:
        return
    reused = WhatsAppNumber.objects.filter(
        organization_id=organization_id, waha_session=number.waha_session, waha_base_url=number.waha_base_url
    ).live()
    if not reused.exists():
        _waha(number).delete_session()
