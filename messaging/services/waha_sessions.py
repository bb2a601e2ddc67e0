"""WAHA sessions of WhatsApp numbers: start, stop, log out, QR and pairing code for admins; the session kept in
step with its number (created, given the hub's webhook, deleted) by tasks; session statuses stored.

WAHA is only ever called outside a transaction: an operation talks to WAHA, then stores what WAHA answered with
one short update.
"""

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

from django.urls import reverse
from django.utils.translation import gettext

from accounts.models import Organization
from accounts.services import audit_log_write
from messaging.models import Provider, WhatsAppNumber
from messaging.phones import e164_from_wa_id
from messaging.providers import ProviderError, WahaProvider, provider_for
from messaging.providers.waha import is_hub_server, session_status, session_webhook
from messaging.selectors import numbers as selectors
from messaging.services import notifications, system_log
from messaging.services.contacts import phone_or_error
from messaging.services.retries import MAX_ATTEMPTS, RetryLater, backoff_countdown
from whatsapp_hub import egress
from whatsapp_hub.errors import ServiceError

logger = logging.getLogger(__name__)

SessionStatus = WhatsAppNumber.SessionStatus
WA_ID = re.compile(r"[0-9]{1,32}(:[0-9]{1,4})?@(c\.us|lid|s\.whatsapp\.net)")
PUSH_NAME_LENGTH = 128
NUMBER_STATUS_FOR_SESSION = {
    SessionStatus.WORKING: WhatsAppNumber.Status.ACTIVE,
    SessionStatus.STARTING: WhatsAppNumber.Status.PENDING,
    SessionStatus.SCAN_QR_CODE: WhatsAppNumber.Status.PENDING,
    SessionStatus.STOPPED: WhatsAppNumber.Status.DISCONNECTED,
    SessionStatus.FAILED: WhatsAppNumber.Status.DISCONNECTED,
}


def uses_shared_waha(number: WhatsAppNumber) -> bool:
    """True when the number's sessions live on the hub's own WAHA server (settings.WAHA_URL)."""
    return not number.waha_base_url or is_hub_server(number.waha_base_url)


def _waha(number: WhatsAppNumber) -> WahaProvider:
    """The number's WAHA client (its own server and key, else the hub's); a 400 for a number of another provider."""
    if number.provider != Provider.WAHA:
        raise ServiceError(
            gettext("%(name)s is a %(provider)s number: only WAHA numbers have a session.")
            % {"name": number.display_name, "provider": number.provider},
            code="not_waha",
        )
    return cast(WahaProvider, provider_for(number))


def _waha_service_error(number: WhatsAppNumber, exc: ProviderError) -> ServiceError:
    """What an admin is told when WAHA refuses or fails: the hub's words only (never WAHA's answer, its hosts or
    keys; `_waha_errors` logs the error)."""
    if isinstance(exc.__cause__, egress.AddressNotAllowed):
        return ServiceError(
            gettext(
                "The number's WAHA URL points to an address the hub may not connect to: only public addresses, or "
                "those the hub's operator allows."
            ),
            code="waha_url_not_allowed",
        )
    if isinstance(exc.__cause__, egress.EgressError):  # a redirect, an answer too large
        return ServiceError(
            gettext("WAHA could not be used: %(reason)s") % {"reason": exc.__cause__},
            status_code=502,
            code="waha_error",
        )
    status = exc.http_status
    if status is None:
        return ServiceError(
            gettext("WAHA is unreachable (%(reason)s): check that it runs and that the number's WAHA URL is right.")
            % {"reason": exc.title.lower()},
            status_code=502,
            code="waha_unreachable",
        )
    if status < 400:  # an answer the hub cannot use (e.g. a QR that is not a PNG)
        return ServiceError(exc.detail, status_code=502, code="waha_error")
    if status in (401, 403):
        own_key = number.waha_api_key or not uses_shared_waha(number)
        detail = (
            gettext("WAHA refused the API key: check the number's waha_api_key.")
            if own_key
            else gettext("WAHA refused the API key: check the hub's WAHA_API_KEY, or set the number's waha_api_key.")
        )
        return ServiceError(detail, status_code=502, code="waha_unauthorized")
    if status == 404:
        return ServiceError(
            gettext("WAHA has no session %(session)s: start the session first.")
            % {"session": repr(number.waha_session)},
            status_code=409,
            code="waha_session_missing",
        )
    raw = exc.raw if isinstance(exc.raw, dict) else {}
    current = session_status(raw.get("status"))
    expected = raw.get("expected") if isinstance(raw.get("expected"), list) else []
    wanted = [value for value in expected if session_status(value)]
    if status == 422 and current and wanted:
        return ServiceError(
            gettext("The WAHA session is %(current)s; this needs it to be %(wanted)s.")
            % {"current": current, "wanted": gettext(" or ").join(wanted)},
            status_code=409,
            code="waha_session_state",
        )
    if 400 <= status < 500:
        return ServiceError(
            gettext("WAHA refused the request (HTTP %(status)d).") % {"status": status},
            status_code=409 if status == 422 else 400,
        )
    return ServiceError(
        gettext("WAHA failed (HTTP %(status)d).") % {"status": status}, status_code=502, code="waha_error"
    )


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
    before = number.status
    WhatsAppNumber.objects.filter(organization_id=number.organization_id, pk=number.pk).update(**updates)
    for name, value in updates.items():
        setattr(number, name, value)
    if number.status != before:
        system_log.number_session_changed(number=number, before=before)
        if number.status == WhatsAppNumber.Status.DISCONNECTED:
            notifications.admins_notify_integration(
                organization=Organization.objects.get(pk=number.organization_id),
                title=notifications.TITLES["number_disconnected"],
                params={"number": number.phone_number or number.display_name},
                link=reverse("settings-number-detail", args=[number.pk]),
            )


def _me(value: Any) -> dict | None:
    """WAHA's `me` reduced to what the hub shows: the linked phone's WhatsApp id and push name, as strings."""
    if not isinstance(value, dict) or not isinstance(value.get("id"), str) or not WA_ID.fullmatch(value["id"]):
        return None
    push_name = value.get("pushName")
    return {"id": value["id"], "pushName": push_name[:PUSH_NAME_LENGTH] if isinstance(push_name, str) else ""}


def _session_view(number: WhatsAppNumber, session: dict) -> dict:
    """The session as the API shows it: its status (as WAHA spells statuses) and `_me`, nothing else WAHA said."""
    status, me = session_status(session.get("status")), _me(session.get("me"))
    number_session_status_record(number=number, status=str(status), me=me)
    return {"name": number.waha_session, "status": status, "me": me}


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
