"""A sign-in lockout that cannot be turned against the account's owner.

django-axes counts failed password sign-ins per (e-mail, client address) (settings.AXES_LOCKOUT_PARAMETERS): an
attacker who knows an address locks only their own client out, never the owner at home. On top of axes:

- Known devices: a browser that signed in to an account gets a signed, long-lived cookie (`remember_device`) naming
  a random device id and the accounts that signed in there. Its failures are counted under "e-mail + device" instead
  of the plain e-mail (`axes_username`), so even an attacker behind the same address (an office, a carrier's NAT)
  cannot lock the owner's own browser. The cookie is signed (SECRET_KEY): it cannot be forged or moved to another
  account.
- Progressive slow-down (`retry_after`): from LOGIN_SLOWDOWN_AFTER failures on, a client waits 2, 4, 8... seconds
  between attempts for that address (429 with Retry-After, the attempt is not even checked), until the lock.
- An e-mail sign-in link (accounts.magic_links) never consults the lockout: the owner can always get in with it.
- A lockout is audited in each organization of the account (auth.lockout, with the client's address) once per
  address and client, and the owner is told by e-mail once per lockout window, whatever the number of clients.
"""

from __future__ import annotations

import math
import secrets

from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db.models import Max
from django.dispatch import receiver
from django.utils import timezone

from accounts.models import hash_secret, normalize_email

DEVICE_COOKIE = "wh_device"
DEVICE_SALT = "accounts.lockout.known-device"
DEVICE_MAX_AGE = 365 * 24 * 3600
DEVICE_ACCOUNTS_MAX = 5
DEVICE_MARK = " device:"
# axes' AccessAttempt.username holds 255 characters: the e-mail part is cut so the device id always fits.
EMAIL_PART_MAX = 200


def _account_key(email: str) -> str:
    return hash_secret(f"known-device:{normalize_email(email)}")[:20]


def _device(request) -> dict | None:
    raw = getattr(request, "COOKIES", {}).get(DEVICE_COOKIE)
    if not raw:
        return None
    try:
        data = signing.loads(raw, salt=DEVICE_SALT, max_age=DEVICE_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("d"), str) or not isinstance(data.get("a"), list):
        return None
    return data


def known_device(request, email: str) -> str | None:
    """The id of this browser's device when `email`'s account signed in from it before, else None."""
    data = _device(request)
    return data["d"] if data is not None and _account_key(email) in data["a"] else None


def remember_device(request, response, email: str) -> None:
    """Marks this browser as a known device of `email`'s account (after a successful sign-in)."""
    data = _device(request) or {"d": secrets.token_urlsafe(12), "a": []}
    key = _account_key(email)
    accounts = [*[account for account in data["a"] if account != key][-(DEVICE_ACCOUNTS_MAX - 1) :], key]
    response.set_cookie(
        DEVICE_COOKIE,
        signing.dumps({"d": data["d"], "a": accounts}, salt=DEVICE_SALT),
        max_age=DEVICE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )


def lockout_username(request, email: str) -> str:
    """The name axes counts failures under: the e-mail, plus the device when this browser is a known one of it."""
    email = normalize_email(email)
    device = known_device(request, email)
    return f"{email[:EMAIL_PART_MAX]}{DEVICE_MARK}{device}" if device else email


def axes_username(request, credentials: dict | None) -> str | None:
    """django-axes' AXES_USERNAME_CALLABLE (see lockout_username)."""
    username = (credentials or {}).get("username")
    return lockout_username(request, username) if username else None


def _last_failure(request, email: str):
    AxesProxyHandler.update_request(request)
    failures = AxesProxyHandler.get_failures(request, {"username": email})
    if not failures:
        return 0, None
    last = AccessAttempt.objects.filter(
        username=lockout_username(request, email),
        ip_address=request.axes_ip_address,
        attempt_time__gte=timezone.now() - settings.AXES_COOLOFF_TIME,
    ).aggregate(last=Max("attempt_time"))["last"]
    return failures, last


def _seconds_until(moment) -> int:
    return max(0, math.ceil((moment - timezone.now()).total_seconds()))


def retry_after(request, email: str) -> int:
    """Seconds this client must still wait before another password attempt for `email` (0: it may try now). The
    wait doubles with each failure from LOGIN_SLOWDOWN_AFTER on; the lock itself is axes'."""
    failures, last = _last_failure(request, email)
    if last is None or failures < settings.LOGIN_SLOWDOWN_AFTER or failures >= settings.AXES_FAILURE_LIMIT:
        return 0
    return _seconds_until(last + timezone.timedelta(seconds=2 ** (failures - settings.LOGIN_SLOWDOWN_AFTER + 1)))


def lock_remaining(request, email: str) -> int:
    """Seconds left of this client's lock on `email` (its last failure plus the cool-off)."""
    _, last = _last_failure(request, email)
    return _seconds_until(last + settings.AXES_COOLOFF_TIME) if last is not None else 0


@receiver(user_locked_out)
def lockout_recorded(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    """A client was locked out of an address: audit it in the account's organizations (once per address and client
    and window) and e-mail the owner (once per window). Nothing for an address without an account."""
    if not username:
        return
    window = int(settings.AXES_COOLOFF_TIME.total_seconds())
    if not cache.add(f"lockout:audit:{hash_secret(f'{username}|{ip_address}')}", 1, timeout=window):
        return
    lockout_record(
        email=username.split(DEVICE_MARK, 1)[0],
        ip_address=ip_address or "",
        known_device=DEVICE_MARK in username,
        notify=cache.add(f"lockout:mail:{hash_secret(username.split(DEVICE_MARK, 1)[0])}", 1, timeout=window),
    )


def lockout_record(*, email: str, ip_address: str, known_device: bool, notify: bool) -> None:
    """Audit a lockout (auth.lockout) in each active organization of the account with this e-mail, and e-mail its
    owner (a task, after commit) when `notify`."""
    from accounts import services
    from accounts import tasks as account_tasks
    from accounts.models import Membership, User
    from whatsapp_hub.aftercommit import enqueue_after_commit

    user = User.objects.filter(email=normalize_email(email), is_active=True).first()
    if user is None:
        return
    data = {"ip_address": ip_address, "known_device": known_device}
    for membership in Membership.objects.select_related("organization").filter(user=user, is_active=True):
        services.audit_log_write(
            organization=membership.organization, actor=None, action="auth.lockout", target=user, data=data
        )
    if notify:
        enqueue_after_commit(account_tasks.send_lockout_notice, user.pk, ip_address)


def lockout_notice_send(*, user_id: int, ip_address: str) -> None:
    """E-mail the owner of an active account that a client was locked out of it (the task's work)."""
    from django.urls import reverse

    from accounts import mail
    from accounts.models import User

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return
    context = {
        "ip_address": ip_address or "?",
        "minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
        "sign_in_url": f"{settings.PUBLIC_BASE_URL}{reverse('magic-link-request')}",
    }
    mail.send_templated(user=user, template="lockout", context=context)
