"""A person's sessions: every browser session and API sign-in (refresh-token chain) they have open, where from and
when last used, and ending them (GET auth/sessions, DELETE auth/sessions/{id}, POST auth/sessions/revoke-others; an
admin's POST admin/users/{id}/sign-out-everywhere).

Ending one takes effect at once: an API session's tokens carry its id (the `sid` claim), and
accounts.authentication.JWTAuthentication refuses an access token whose session ended, as auth_refresh refuses its
refresh token; a browser session carries its id in the Django session, and UserSessionMiddleware signs a browser out
on its next request once its session ended. A live-inbox socket knows the session it was opened within (the browser's,
or its ticket's) and closes as the session ends (hooks.sessions_ended).

Use is recorded at most once a minute per session (TOUCH_EVERY), so a request costs one indexed read."""

import hashlib
import ipaddress
from datetime import timedelta
from functools import lru_cache

from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from rest_framework.throttling import BaseThrottle
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import Token
from ua_parser import parse as parse_user_agent

from accounts import hooks
from accounts.models import Membership, Organization, User
from accounts.session_models import UserSession
from whatsapp_hub.errors import ServiceError

# The access and refresh tokens' claim naming their API session.
SESSION_CLAIM = "sid"
# The Django session's key naming its browser session.
BROWSER_SESSION_KEY = "user_session_id"
# How stale last_used_at may get: a busy session writes at most once per this.
TOUCH_EVERY = timedelta(minutes=1)
USER_AGENT_MAX = UserSession._meta.get_field("user_agent").max_length


def _not_found() -> ServiceError:
    return ServiceError(gettext("Session not found."), status_code=404, code="not_found")


def client_ip(request) -> str | None:
    """The client's address as throttling reads it (X-Forwarded-For behind NUM_PROXIES proxies), or None when that
    is no address."""
    try:
        return str(ipaddress.ip_address(BaseThrottle().get_ident(request).strip()))
    except ValueError:
        return None


@lru_cache(maxsize=512)
def device_parts(user_agent: str) -> tuple[str, str]:
    """(browser with its major version, system with its device) read from a user agent by ua-parser, e.g.
    ("Mobile Safari 17", "iOS (iPhone)"); ("", "") when nothing is recognised."""
    result = parse_user_agent(user_agent) if user_agent else None
    if result is None:
        return "", ""
    browser = result.user_agent
    name = browser.family if browser is not None else ""
    if name and browser.major:
        name = f"{name} {browser.major}"
    system = result.os.family if result.os is not None else ""
    device = result.device.family if result.device is not None and result.device.family != "Other" else ""
    if system and device and device not in system:
        system = f"{system} ({device})"
    return name, system


def device_label(user_agent: str) -> str:
    """'Chrome 120 on Windows', 'Mobile Safari 17 on iOS (iPhone)', or the client's name for API clients, in the
    active language."""
    name, system = device_parts(user_agent)
    if name and system:
        return gettext("%(browser)s on %(system)s") % {"browser": name, "system": system}
    return name or system or user_agent[:60] or gettext("Unknown device")


def _user_agent(request) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX]


def _key_hash(session_key: str | None) -> str:
    return hashlib.sha256(session_key.encode()).hexdigest() if session_key else ""


# --- opening and using --------------------------------------------------------------------------------------------


def api_session_open(*, request, user: User) -> int:
    """A new API session for a sign-in from this client; the tokens issued for it carry its id
    (accounts.services._issue_tokens binds them)."""
    session = UserSession.objects.create(
        user=user,
        kind=UserSession.Kind.API,
        user_agent=_user_agent(request),
        ip=client_ip(request),
        expires_at=timezone.now() + settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"],
    )
    return session.pk


def api_session_bind(*, session_id: int, jti: str, expires_at) -> None:
    """The session's newest refresh token (a sign-in's, or a rotation's): used now, ends when that token expires."""
    UserSession.objects.filter(pk=session_id).update(token_jti=jti, expires_at=expires_at, last_used_at=timezone.now())


def browser_session_open(*, request, user: User) -> UserSession:
    """The browser session `request` just signed in to (django.contrib.auth.login has given it a new key)."""
    if request.session.session_key is None:
        request.session.save()
    session = UserSession.objects.create(
        user=user,
        kind=UserSession.Kind.BROWSER,
        key_hash=_key_hash(request.session.session_key),
        user_agent=_user_agent(request),
        ip=client_ip(request),
        expires_at=request.session.get_expiry_date(),
    )
    request.session[BROWSER_SESSION_KEY] = session.pk
    return session


def session_in_use(*, session_id, user_id) -> bool:
    """Whether the user's session is open (neither ended nor expired); records its use (at most once per
    TOUCH_EVERY). Called on every authenticated request."""
    now = timezone.now()
    last_used = (
        UserSession.objects.filter(pk=session_id, user_id=user_id, ended_at__isnull=True, expires_at__gt=now)
        .values_list("last_used_at", flat=True)
        .first()
    )
    if last_used is None:
        return False
    if now - last_used >= TOUCH_EVERY:
        UserSession.objects.filter(pk=session_id, last_used_at=last_used).update(last_used_at=now)
    return True


def browser_session_alive(session) -> bool:
    """Whether a Django session that names its browser session (browser_session_open) may still act; one that names
    none (signed in before sessions were recorded) may."""
    session_id = session.get(BROWSER_SESSION_KEY)
    if session_id is None:
        return True
    return isinstance(session_id, int) and session_in_use(session_id=session_id, user_id=session.get(SESSION_KEY))


def api_session_for_refresh(*, request, token, user: User) -> int | None:
    """The API session a refresh token rotates within: its own (ServiceError 401 once ended), or, for a token issued
    before sessions were recorded, a new one for this client."""
    session_id = token.get(SESSION_CLAIM)
    if session_id is None:
        return api_session_open(request=request, user=user) if request is not None else None
    if not UserSession.objects.filter(pk=session_id, user=user, ended_at__isnull=True).exists():
        raise ServiceError("Refresh token is invalid, expired or revoked.", status_code=401, code="token_not_valid")
    return session_id


class UserSessionMiddleware:
    """After AuthenticationMiddleware: a browser whose session was ended elsewhere (another device, an admin) is
    signed out before the view runs; a signed-in browser without a recorded session (from before) gets one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is not None and session.get(SESSION_KEY) is not None:
            if not browser_session_alive(session):
                logout(request)
            elif session.get(BROWSER_SESSION_KEY) is None and request.user.is_authenticated:
                browser_session_open(request=request, user=request.user)
        return self.get_response(request)


# --- reading ------------------------------------------------------------------------------------------------------


def user_sessions_open(*, user: User):
    """The person's open sessions, most recently used first."""
    return UserSession.objects.filter(user=user, ended_at__isnull=True, expires_at__gt=timezone.now())


def token_session_id(request) -> int | None:
    """The API session of the request's access token (None: a browser session, an API key)."""
    token = getattr(request, "auth", None)
    return token.get(SESSION_CLAIM) if isinstance(token, Token) else None


def current_session_id(request) -> int | None:
    """The session the request came with: its access token's (API), or its browser session's."""
    if isinstance(getattr(request, "auth", None), Token):
        return token_session_id(request)
    return request.session.get(BROWSER_SESSION_KEY) if request.auth is None else None


# --- ending -------------------------------------------------------------------------------------------------------


def _end(sessions, *, reason: str) -> list[int]:
    """End these sessions (a queryset, locked): their refresh tokens are blacklisted; the checks above refuse the
    rest at once, and their live-inbox sockets close after the commit (hooks.sessions_ended). Returns the ids ended.
    Call inside a transaction."""
    rows = list(sessions.select_for_update().filter(ended_at__isnull=True).order_by("pk"))
    if not rows:
        return []
    UserSession.objects.filter(pk__in=[row.pk for row in rows]).update(ended_at=timezone.now(), end_reason=reason)
    jtis = [row.token_jti for row in rows if row.token_jti]
    outstanding = OutstandingToken.objects.filter(jti__in=jtis).order_by("pk")
    BlacklistedToken.objects.bulk_create([BlacklistedToken(token=t) for t in outstanding], ignore_conflicts=True)
    ended = [row.pk for row in rows]
    for user_id in sorted({row.user_id for row in rows}):
        hooks.sessions_ended.send(user_id=user_id, session_ids=[row.pk for row in rows if row.user_id == user_id])
    return ended


@transaction.atomic
def user_session_revoke(*, user: User, session_id: int) -> None:
    """End one of the person's open sessions (404 for any other id: another person's, or ended)."""
    if not user_sessions_open(user=user).filter(pk=session_id).exists():
        raise _not_found()
    _end(UserSession.objects.filter(pk=session_id, user=user), reason=UserSession.EndReason.REVOKED)


@transaction.atomic
def user_sessions_revoke_others(*, user: User, current_id: int | None) -> int:
    """End every open session of the person but `current_id` (the one asking); returns how many ended."""
    others = UserSession.objects.filter(user=user).exclude(pk=current_id)
    return len(_end(others, reason=UserSession.EndReason.REVOKED))


@transaction.atomic
def user_session_sign_out(*, user_id, session_id) -> None:
    """The session signed itself out (auth/logout, the sign-out button)."""
    if session_id is not None:
        _end(UserSession.objects.filter(pk=session_id, user_id=user_id), reason=UserSession.EndReason.SIGNED_OUT)


def user_sign_out_everywhere(*, user: User) -> int:
    """End every session of the person: every browser and API session ends, every token fails (the version bump of a
    password reset), their live-inbox sockets close. Returns how many sessions ended. Call inside a transaction."""
    from accounts import services  # services issues tokens within sessions: it imports this module

    ended = _end(UserSession.objects.filter(user=user), reason=UserSession.EndReason.REVOKED)
    services._revoke_all_sessions(user)
    for organization_id in Membership.objects.filter(user=user).values_list("organization_id", flat=True):
        hooks.member_signed_out.send(organization_id=organization_id, user_id=user.pk)
    return len(ended)


@transaction.atomic
def member_sign_out_everywhere(*, organization: Organization, user_id, actor) -> Membership:
    """An admin signs a member of their organization out of every session (404 for anyone else; see
    user_sign_out_everywhere). Audited as member.sign_out_everywhere."""
    from accounts import services

    membership = Membership.objects.for_org(organization).select_related("user").filter(user_id=user_id).first()
    if membership is None:
        raise ServiceError(gettext("Member not found."), status_code=404, code="not_found")
    ended = user_sign_out_everywhere(user=membership.user)
    services.audit_log_write(
        organization=organization,
        actor=actor,
        action="member.sign_out_everywhere",
        target=membership.user,
        data={"sessions": ended},
    )
    return membership
