"""Two-step sign-in: a code of an authenticator app (TOTP, RFC 6238, through pyotp) after the first step (a password,
Google, an e-mail link), recovery codes for a lost phone, and browsers trusted for TRUST_DAYS.

- Enrolment: enrolment_start gives a new secret (its otpauth:// URI and a QR code); two_factor_enrolment_confirm
  checks a current code of it and only then turns two-step sign-in on, with RECOVERY_CODES_COUNT recovery codes
  shown once. The secret is encrypted at rest (whatsapp_hub.encryption); recovery codes and trusted-browser tokens
  are stored as digests (accounts.models.hash_secret).
- Codes: the current 30-second step and one on either side are accepted; a step once accepted, and every older one,
  is refused afterwards (TwoFactor.last_used_step, moved forward by a conditional update): a code works once.
- Sign-in: accounts.services.auth_sign_in_complete raises SecondStepRequired instead of signing in when the person
  has two-step sign-in on and the browser is not trusted; the exception carries a challenge, a signed token
  (CHALLENGE_TTL, single use) naming the person, the organization and the first step. auth_second_step takes the
  challenge and a code (or a recovery code) and completes the sign-in as the first step would have.
- Failures: a person's wrong second steps are counted for AXES_COOLOFF_TIME; from AXES_FAILURE_LIMIT on every try
  is refused (429) until the window ends, as the password lockout (accounts.lockout) does. The endpoints themselves
  are throttled per client (AuthRateThrottle).
- Trusted browsers: a signed, HttpOnly cookie (Secure over HTTPS) holding random tokens, each tied to a
  TrustedDevice row; disabling two-step sign-in or new recovery codes revoke every one.
- Organization policy: settings "require_admin_two_factor" (accounts.org_settings) makes its admins enrol: the pages
  send them to the security page, the API answers admin-only routes with 403 two_factor_enrolment_required
  (accounts.permissions.IsAdmin).

- Reset: a person who lost both their authenticator app and their recovery codes asks an admin of their
  organization (Settings > Team, POST admin/users/{id}/two-factor/reset) or platform staff (the platform pages, the
  Django admin) to turn it off for them (two_factor_reset); they are e-mailed a notice.

Enabling, disabling, new recovery codes, the use of a recovery code, revoking a trusted browser and a reset are
audited in every organization of the person's (two_factor.*; an admin's reset in their organization).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
import segno
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from accounts import mail, org_settings, sessions
from accounts.models import Membership, Organization, Role, User, hash_secret
from accounts.two_factor_models import RecoveryCode, TrustedDevice, TwoFactor
from whatsapp_hub.errors import ServiceError

ISSUER = "WhatsApp Hub"
DIGITS = 6
VALID_WINDOW = 1  # steps accepted on either side of the current one (clock drift, a code typed as it turns)
RECOVERY_CODES_COUNT = 10
RECOVERY_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"  # base32's: no 0/O or 1/l to confuse
CHALLENGE_TTL = timedelta(minutes=5)
CHALLENGE_SALT = "accounts.two_factor.challenge"
TRUST_DAYS = 30
TRUST_COOKIE = "wh_trusted"
TRUST_SALT = "accounts.two_factor.trusted"
TRUST_TOKENS_MAX = 5  # accounts trusted on one browser (people sharing a computer)
# The web app keeps the challenge of a sign-in waiting for its second step in the (anonymous) session.
CHALLENGE_SESSION_KEY = "two_factor_challenge"
USER_AGENT_MAX = TrustedDevice._meta.get_field("user_agent").max_length


class SecondStepRequired(Exception):
    """The first step succeeded, and the person must now give a code (auth_second_step with this challenge)."""

    def __init__(self, challenge: str):
        super().__init__("Two-step sign-in required.")
        self.challenge = challenge


@dataclass(frozen=True)
class Enrolment:
    secret: str
    otpauth_uri: str
    qr_png: str  # a data: URI


# --- reading ------------------------------------------------------------------------------------------------------


def is_enabled(*, user: User) -> bool:
    return TwoFactor.objects.filter(user=user, confirmed_at__isnull=False).exists()


def recovery_codes_left(*, user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


def trusted_devices(*, user: User):
    """The person's browsers that still skip the second step, most recently used first."""
    return TrustedDevice.objects.filter(user=user, revoked_at__isnull=True, expires_at__gt=timezone.now())


def enrolment_required(*, user, organization, role: str | None) -> bool:
    """Whether this admin must enrol before acting as an admin: their organization requires two-step sign-in of its
    admins (settings "require_admin_two_factor") and theirs is off. One query, only under that policy."""
    if role != Role.ADMIN or not isinstance(user, User) or organization is None:
        return False
    if not org_settings.admin_two_factor_required(organization.settings):
        return False
    return not is_enabled(user=user)


def enrolment_required_error() -> ServiceError:
    return ServiceError(
        gettext(
            "Your organization requires admins to use two-step sign-in: turn it on in your account's security "
            "settings first."
        ),
        status_code=403,
        code="two_factor_enrolment_required",
    )


# --- codes --------------------------------------------------------------------------------------------------------


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=DIGITS)


def _clean_code(code: str | None) -> str:
    return "".join((code or "").split()).replace("-", "")


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step (within VALID_WINDOW of now) whose code is `code`, else None. Constant-time comparisons."""
    code = _clean_code(code)
    if len(code) != DIGITS or not code.isdigit():
        return None
    totp = _totp(secret)
    current = totp.timecode(now)
    match = None
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            match = step
    return match


def _use_code(row: TwoFactor, code: str) -> bool:
    """Accept `code` for this secret once: its step must be newer than the last one accepted (a conditional update,
    so two requests racing with the same code cannot both pass)."""
    step = _matching_step(row.secret, code, timezone.now())
    if step is None:
        return False
    used = TwoFactor.objects.filter(pk=row.pk, last_used_step__lt=step).update(last_used_step=step)
    return used == 1


def _new_recovery_codes(user: User) -> list[str]:
    """Replace the person's recovery codes with RECOVERY_CODES_COUNT new ones (returned once, in clear)."""
    RecoveryCode.objects.filter(user=user).delete()
    codes = []
    for _ in range(RECOVERY_CODES_COUNT):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(10))  # 50 bits
        codes.append(f"{raw[:5]}-{raw[5:]}")
    RecoveryCode.objects.bulk_create(RecoveryCode(user=user, code_hash=_recovery_hash(user, code)) for code in codes)
    return codes


def _recovery_hash(user: User, code: str) -> str:
    # The person's id in the digest: one table of precomputed digests cannot serve every account.
    return hash_secret(f"recovery:{user.pk}:{_clean_code(code).lower()}")


def _use_recovery_code(user: User, code: str) -> bool:
    unused = RecoveryCode.objects.filter(user=user, code_hash=_recovery_hash(user, code), used_at__isnull=True)
    return unused.update(used_at=timezone.now()) == 1


# --- failures -----------------------------------------------------------------------------------------------------


def _failures_key(user_id: int) -> str:
    return f"two_factor:failures:{user_id}"


def _check_not_locked(user_id: int) -> None:
    if cache.get(_failures_key(user_id), 0) >= settings.AXES_FAILURE_LIMIT:
        minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
        raise ServiceError(
            gettext("Too many wrong codes: wait %(minutes)d minutes before trying again.") % {"minutes": minutes},
            status_code=429,
            code="too_many_attempts",
            headers={"Retry-After": str(int(settings.AXES_COOLOFF_TIME.total_seconds()))},
        )


def _count_failure(user_id: int) -> None:
    key = _failures_key(user_id)
    cache.add(key, 0, timeout=int(settings.AXES_COOLOFF_TIME.total_seconds()))
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=int(settings.AXES_COOLOFF_TIME.total_seconds()))


def _wrong_code(field: str = "code") -> ServiceError:
    message = gettext("This code is not valid, or was already used.")
    return ServiceError(message, status_code=400, code="invalid_code", errors={field: [message]})


# --- auditing -----------------------------------------------------------------------------------------------------


def _audit(user: User, action: str, data: dict | None = None, *, actor: User | None = None) -> None:
    """Record a change of the person's two-step sign-in in each organization they are an active member of, by them
    or by `actor`."""
    from accounts import services  # services signs in through this module

    for membership in Membership.objects.select_related("organization").filter(user=user, is_active=True):
        services.audit_log_write(
            organization=membership.organization, actor=actor or user, action=action, target=user, data=data
        )


# --- enrolment and management -------------------------------------------------------------------------------------


def _enrolment(user: User, secret: str) -> Enrolment:
    uri = _totp(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    return Enrolment(secret=secret, otpauth_uri=uri, qr_png=segno.make(uri, error="m").png_data_uri(scale=5))


def _already_on() -> ServiceError:
    return ServiceError(
        gettext("Two-step sign-in is already on. Turn it off first to use another authenticator app."),
        status_code=409,
        code="two_factor_enabled",
    )


@transaction.atomic
def two_factor_enrolment_start(*, user: User) -> Enrolment:
    """A new secret for the person's authenticator app (an enrolment not yet confirmed replaces the previous one).
    409 when two-step sign-in is already on."""
    row = TwoFactor.objects.select_for_update().filter(user=user).first()
    if row is not None and row.confirmed_at is not None:
        raise _already_on()
    secret = pyotp.random_base32()
    TwoFactor.objects.update_or_create(user=user, defaults={"secret": secret, "last_used_step": 0})
    return _enrolment(user, secret)


def enrolment_pending(*, user: User) -> Enrolment | None:
    """The enrolment in progress (its secret, URI and QR code), or None."""
    row = TwoFactor.objects.filter(user=user, confirmed_at__isnull=True).first()
    return _enrolment(user, row.secret) if row is not None else None


@transaction.atomic
def two_factor_enrolment_confirm(*, user: User, code: str) -> list[str]:
    """Turn two-step sign-in on with a current code of the enrolment's secret; returns the recovery codes (shown
    once). Audited as two_factor.enable."""
    row = TwoFactor.objects.select_for_update().filter(user=user).first()
    if row is None:
        raise ServiceError(
            gettext("Start the set-up first: there is no authenticator app to confirm."),
            status_code=400,
            code="no_enrolment",
        )
    if row.confirmed_at is not None:
        raise _already_on()
    _check_not_locked(user.pk)
    if not _use_code(row, code):
        _count_failure(user.pk)
        raise _wrong_code()
    TwoFactor.objects.filter(pk=row.pk).update(confirmed_at=timezone.now())
    codes = _new_recovery_codes(user)
    _audit(user, "two_factor.enable")
    return codes


def _check_proof(user: User, row: TwoFactor, *, code: str | None, password: str | None) -> None:
    """A current code or the account's password, for turning the protection down (counted as failures)."""
    _check_not_locked(user.pk)
    if code and _use_code(row, code):
        return
    if not code and password and user.has_usable_password() and user.check_password(password):
        return
    _count_failure(user.pk)
    if code or not password:
        raise _wrong_code()
    message = gettext("The password is not correct.")
    raise ServiceError(message, status_code=400, code="invalid_password", errors={"password": [message]})


def _not_enabled() -> ServiceError:
    return ServiceError(gettext("Two-step sign-in is not on."), status_code=409, code="two_factor_disabled")


def _revoke_devices(user: User) -> int:
    return TrustedDevice.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())


@transaction.atomic
def two_factor_disable(*, user: User, code: str | None = None, password: str | None = None) -> None:
    """Turn two-step sign-in off, proven with a current code or the password: the secret, the recovery codes and
    every trusted browser go. Audited as two_factor.disable."""
    row = TwoFactor.objects.select_for_update().filter(user=user, confirmed_at__isnull=False).first()
    if row is None:
        raise _not_enabled()
    _check_proof(user, row, code=code, password=password)
    TwoFactor.objects.filter(pk=row.pk).delete()
    RecoveryCode.objects.filter(user=user).delete()
    revoked = _revoke_devices(user)
    _audit(user, "two_factor.disable", {"trusted_devices_revoked": revoked})


@transaction.atomic
def two_factor_recovery_codes_regenerate(
    *, user: User, code: str | None = None, password: str | None = None
) -> list[str]:
    """New recovery codes (the old ones stop working), proven with a current code or the password; every trusted
    browser is revoked too (the person may be replacing a lost device). Audited as two_factor.recovery_codes."""
    row = TwoFactor.objects.select_for_update().filter(user=user, confirmed_at__isnull=False).first()
    if row is None:
        raise _not_enabled()
    _check_proof(user, row, code=code, password=password)
    codes = _new_recovery_codes(user)
    revoked = _revoke_devices(user)
    _audit(user, "two_factor.recovery_codes", {"trusted_devices_revoked": revoked})
    return codes


@transaction.atomic
def two_factor_reset(*, user_id: int, actor, organization: Organization | None = None) -> User:
    """Turn a person's two-step sign-in off for them, when they lost both their authenticator app and their recovery
    codes: by an admin of `organization` (a person or an admin API key's principal) for one of its members (404 for
    anyone else), or by platform staff (`organization` None; the caller checked) for anyone. The secret, the recovery
    codes and every trusted browser go, every session of theirs ends, and they are e-mailed a notice (sent after the
    commit); they sign in with the first step alone and may enrol again (an admin whose organization requires it is
    sent to enrolment). Not one's own (400: that is turned off on the security page); 409 when it is not on. Audited
    as two_factor.reset (who reset whom): in `organization`, or, by staff, in each organization of the person's and
    the platform's log."""
    from accounts import services

    if organization is not None:
        membership = Membership.objects.for_org(organization).select_related("user").filter(user_id=user_id).first()
        user = membership.user if membership is not None else None
    else:
        user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise ServiceError(gettext("Member not found."), status_code=404, code="not_found")
    if user.pk == actor.pk:
        raise ServiceError(
            gettext("Your own two-step sign-in is turned off on your security page, with your password."),
            code="own_two_factor",
        )
    row = TwoFactor.objects.select_for_update().filter(user=user, confirmed_at__isnull=False).first()
    if row is None:
        raise _not_enabled()
    TwoFactor.objects.filter(pk=row.pk).delete()
    RecoveryCode.objects.filter(user=user).delete()
    data = {
        "trusted_devices_revoked": _revoke_devices(user),
        "sessions_ended": sessions.user_sign_out_everywhere(user=user),
    }
    if organization is not None:
        services.audit_log_write(
            organization=organization, actor=actor, action="two_factor.reset", target=user, data=data
        )
    else:
        _audit(user, "two_factor.reset", {**data, "by": "platform"}, actor=actor)
        services.platform_audit_write(
            actor=actor, action="user.two_factor_reset", data={"user_id": user.pk, "email": user.email, **data}
        )
    mail.send_templated(
        user=user,
        template="two_factor_reset",
        context={
            "organization_name": organization.name if organization is not None else "",
            "security_url": f"{settings.PUBLIC_BASE_URL}{reverse('account-security')}",
        },
        organization=organization,
    )
    return user


@transaction.atomic
def trusted_device_revoke(*, user: User, device_id: int) -> None:
    """Revoke one of the person's trusted browsers (404 for any other id). Audited as two_factor.device_revoke."""
    device = trusted_devices(user=user).select_for_update().filter(pk=device_id).first()
    if device is None:
        raise ServiceError(gettext("Trusted browser not found."), status_code=404, code="not_found")
    TrustedDevice.objects.filter(pk=device.pk).update(revoked_at=timezone.now())
    _audit(user, "two_factor.device_revoke", {"device": device.label})


# --- trusted browsers ---------------------------------------------------------------------------------------------


def _cookie_tokens(request) -> list[str]:
    raw = getattr(request, "COOKIES", {}).get(TRUST_COOKIE)
    if not raw:
        return []
    try:
        tokens = signing.loads(raw, salt=TRUST_SALT, max_age=TRUST_DAYS * 24 * 3600)
    except signing.BadSignature:
        return []
    return [token for token in tokens if isinstance(token, str)][:TRUST_TOKENS_MAX] if isinstance(tokens, list) else []


def trusted_device_for(*, request, user: User) -> TrustedDevice | None:
    """The trusted browser of `user` this request comes from (its cookie), recording its use; else None."""
    tokens = _cookie_tokens(request)
    if not tokens:
        return None
    device = trusted_devices(user=user).filter(token_hash__in=[hash_secret(token) for token in tokens]).first()
    if device is not None:
        TrustedDevice.objects.filter(pk=device.pk).update(last_used_at=timezone.now())
    return device


def trusted_device_create(*, request, response, user: User) -> TrustedDevice:
    """Trust this browser for TRUST_DAYS: a TrustedDevice row and its token added to the browser's cookie."""
    token = secrets.token_urlsafe(32)
    user_agent = request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX]
    device = TrustedDevice.objects.create(
        user=user,
        token_hash=hash_secret(token),
        label=sessions.device_label(user_agent)[:200],
        user_agent=user_agent,
        expires_at=timezone.now() + timedelta(days=TRUST_DAYS),
    )
    tokens = [*_cookie_tokens(request)[-(TRUST_TOKENS_MAX - 1) :], token]
    response.set_cookie(
        TRUST_COOKIE,
        signing.dumps(tokens, salt=TRUST_SALT),
        max_age=TRUST_DAYS * 24 * 3600,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure() or settings.SESSION_COOKIE_SECURE,
    )
    return device


# --- signing in ---------------------------------------------------------------------------------------------------


def second_step_needed(*, request, user: User) -> bool:
    """Whether this sign-in must go through the second step: two-step sign-in is on and the browser is not one the
    person trusts."""
    return is_enabled(user=user) and trusted_device_for(request=request, user=user) is None


def challenge_issue(*, user: User, method: str, organization_id: int | None, staff_only: bool) -> str:
    data = {
        "u": user.pk,
        "tv": user.token_version,
        "m": method,
        "o": organization_id,
        "s": staff_only,
        "n": secrets.token_urlsafe(12),
    }
    return signing.dumps(data, salt=CHALLENGE_SALT)


def _challenge_refused() -> ServiceError:
    return ServiceError(
        gettext("This sign-in has expired or was already completed: sign in again."),
        status_code=401,
        code="invalid_challenge",
    )


def _read_challenge(challenge: str) -> dict:
    try:
        data = signing.loads(challenge or "", salt=CHALLENGE_SALT, max_age=CHALLENGE_TTL.total_seconds())
    except signing.BadSignature:
        raise _challenge_refused() from None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not isinstance(data.get("n"), str):
        raise _challenge_refused()
    return data


def challenge_user(*, challenge: str) -> User | None:
    """The person a challenge is for (the second-step page shows whom it signs in), or None when it is not usable."""
    try:
        data = _read_challenge(challenge)
    except ServiceError:
        return None
    return User.objects.filter(pk=data["u"], is_active=True, token_version=data.get("tv")).first()


def auth_second_step(
    *, request, challenge: str, code: str = "", recovery_code: str = ""
) -> tuple[User, Membership | None]:
    """Complete a sign-in waiting for its second step: a current code of the person's authenticator app, or one of
    their recovery codes (used once, audited as two_factor.recovery_code_used). Wrong codes are counted (429 past
    the limit); the challenge works once and for CHALLENGE_TTL (401 after)."""
    from accounts import services

    data = _read_challenge(challenge)
    if cache.get(f"two_factor:challenge:{data['n']}"):
        raise _challenge_refused()
    user = User.objects.filter(pk=data["u"], is_active=True).first()
    if user is None or user.token_version != data.get("tv"):
        raise _challenge_refused()
    _check_not_locked(user.pk)
    with transaction.atomic():
        row = TwoFactor.objects.select_for_update().filter(user=user, confirmed_at__isnull=False).first()
        if row is None:  # turned off meanwhile: the first step is all there is
            passed, recovered = True, False
        elif recovery_code:
            passed = recovered = _use_recovery_code(user, recovery_code)
        else:
            passed, recovered = _use_code(row, code), False
        if passed:
            if not cache.add(f"two_factor:challenge:{data['n']}", 1, timeout=int(CHALLENGE_TTL.total_seconds())):
                raise _challenge_refused()
            membership = services.auth_sign_in_complete(
                request=request,
                user=user,
                method=data.get("m") or services.SignInMethod.PASSWORD,
                organization_id=data.get("o"),
                staff_only=bool(data.get("s")),
                second_step_done=True,
            )
            if recovered:
                _audit(user, "two_factor.recovery_code_used", {"left": recovery_codes_left(user=user)})
    if not passed:
        _count_failure(user.pk)
        raise _wrong_code("recovery_code" if recovery_code else "code")
    cache.delete(_failures_key(user.pk))
    return user, membership
