"""Every write path of tenants and people. Keyword-only arguments, one transaction each,
e-mails and other side effects after commit."""

import json
import logging
import secrets
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import partial
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import authenticate, password_validation, user_logged_in
from django.contrib.auth.tokens import default_token_generator
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.text import slugify
from django.utils.translation import gettext, gettext_lazy, gettext_noop
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import google, hooks, lockout, mail, org_settings, plans, selectors, sessions, two_factor
from accounts import tasks as account_tasks
from accounts.models import (
    ApiKey,
    AuditLog,
    CustomPage,
    Invitation,
    Membership,
    Organization,
    PlatformAuditLog,
    Role,
    SystemLog,
    Team,
    TeamMember,
    User,
    hash_secret,
    normalize_email,
)
from whatsapp_hub.aftercommit import enqueue_after_commit, run_after_commit
from whatsapp_hub.errors import ServiceError, invalid_input
from whatsapp_hub.retention import delete_in_batches

logger = logging.getLogger(__name__)

# Tries at a free slug when concurrent sign-ups of the same name keep taking the one just checked.
SLUG_ATTEMPTS = 3
# How long a live-inbox socket ticket may wait for its connection.
WS_TICKET_TTL = timedelta(seconds=30)


def _not_found(what: str) -> ServiceError:
    return ServiceError(f"{what} not found.", status_code=404, code="not_found")


def _unauthorized(detail: str, code: str = "authentication_failed") -> ServiceError:
    return ServiceError(detail, status_code=401, code=code)


def audit_log_write(*, organization: Organization, actor, action: str, target=None, data: dict | None = None) -> None:
    """Record who did what. `actor` is a User, an API key principal or None (the platform)."""
    api_key = getattr(actor, "api_key", None)
    AuditLog.objects.create(
        organization=organization,
        actor=actor if isinstance(actor, User) else None,
        api_key=api_key,
        action=action,
        target_type=type(target).__name__.lower() if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        data=data or {},
    )


def platform_audit_write(*, actor, action: str, organization: Organization | None = None, data: dict | None = None):
    """Record what platform staff did (accounts.PlatformAuditLog: kept when the organization is deleted)."""
    return PlatformAuditLog.objects.create(
        actor=actor if isinstance(actor, User) else None,
        action=action,
        organization_ref=organization.pk if organization is not None else None,
        organization_name=organization.name if organization is not None else "",
        data=data or {},
    )


def _validate_password(password: str, user: User | None = None, field: str = "password") -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise ServiceError(exc.messages[0], errors={field: exc.messages}) from None


def _unique_slug(name: str) -> str:
    base = slugify(name)[:60] or "org"
    slug, n = base, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def organization_create(*, name: str, plan: str = Organization.Plan.STARTER, field: str = "name") -> Organization:
    """A new organization with a slug of its own, derived from `name` (`field` names it in a 400)."""
    for _ in range(SLUG_ATTEMPTS):
        try:
            with transaction.atomic():  # a savepoint: the caller's transaction survives a lost race
                return Organization.objects.create(name=name.strip(), slug=_unique_slug(name), plan=plan)
        except IntegrityError:
            continue  # another organization took the slug between the check and the insert: check again
    message = gettext("Organizations with this name are being created right now: try again.")
    raise ServiceError(message, errors={field: [message]})


# Says no more than that the e-mail has an account, as sign-up always did.
EMAIL_TAKEN_DETAIL = gettext_noop(
    "An account with this e-mail already exists: sign in with it instead. Once signed in, you can create another "
    "organization (POST /api/v1/organizations)."
)


def _email_taken() -> ServiceError:
    detail = gettext(EMAIL_TAKEN_DETAIL)
    return ServiceError(detail, errors={"email": [detail]})


@transaction.atomic
def organization_create_for_user(*, user: User, name: str, field: str = "name") -> Membership:
    """A new organization with `user` as its admin (audited as organization.create): sign-up's, or another one of
    a signed-in person. Returns the admin membership. `field` names the name in a 400."""
    organization = organization_create(name=name, field=field)
    membership = Membership.objects.create(organization=organization, user=user, role=Role.ADMIN)
    audit_log_write(organization=organization, actor=user, action="organization.create", target=organization)
    return membership


def user_set_language(*, user: User, language: str) -> None:
    """The person's web-app language ("" follows the browser)."""
    if language and language not in dict(settings.LANGUAGES):
        raise invalid_input({"language": [gettext("Not a language of the web app.")]})
    User.objects.filter(pk=user.pk).update(language=language)
    user.language = language


@transaction.atomic
def user_register(*, email: str, password: str, name: str, organization_name: str) -> tuple[User, Organization]:
    """Sign-up: a new organization with this user as its admin. 400 for an e-mail that already has an account
    (telling them to sign in instead), also when a concurrent sign-up takes it between the check and the insert."""
    if not settings.SIGNUP_OPEN:
        raise ServiceError(
            gettext("Sign-up is by invitation only: ask an admin of your organization to invite you."),
            status_code=403,
            code="signup_closed",
        )
    email = normalize_email(email)
    if User.objects.filter(email=email).exists():
        raise _email_taken()
    _validate_password(password, User(email=email, name=name))
    try:
        with transaction.atomic():
            user = User.objects.create_user(email, password, name=name.strip())
    except IntegrityError:
        raise _email_taken() from None
    membership = organization_create_for_user(user=user, name=organization_name, field="organization_name")
    return user, membership.organization


@dataclass(frozen=True)
class Session:
    access_token: str
    refresh_token: str
    user: User
    membership: Membership | None


def _issue_tokens(*, user: User, membership: Membership | None, session_id: int | None = None) -> tuple[str, str]:
    """A token pair of the API session `session_id` (accounts.sessions: its tokens stop working when it ends)."""
    refresh = RefreshToken.for_user(user)
    refresh["tv"] = user.token_version
    refresh["org"] = membership.organization_id if membership else None
    if session_id is not None:
        refresh[sessions.SESSION_CLAIM] = session_id
        sessions.api_session_bind(
            session_id=session_id, jti=refresh["jti"], expires_at=refresh.current_time + refresh.lifetime
        )
    return str(refresh.access_token), str(refresh)


def session_issue(*, user: User, membership: Membership, request=None, session_id: int | None = None) -> Session:
    """A token pair acting in `membership`'s organization: within the caller's API session `session_id` (e.g. an
    organization the user just created), else a new API session for a sign-in from `request`'s client."""
    if session_id is None and request is not None:
        session_id = sessions.api_session_open(request=request, user=user)
    access, refresh = _issue_tokens(user=user, membership=membership, session_id=session_id)
    return Session(access, refresh, user, membership)


@transaction.atomic
def auth_switch_organization(*, user: User, organization_id: int, session_id: int | None = None) -> Session:
    """A token pair acting in another organization of the signed-in user (audited there as auth.switch). 403
    naming organization_id when they are not a member, their membership is deactivated or the organization is
    suspended. The tokens they had stay valid (other tabs and devices keep their organization)."""
    membership = selectors.membership_for(user=user, organization_id=organization_id)
    problem = selectors.membership_problem(membership)
    if problem:
        raise ServiceError(problem, status_code=403, code="membership_inactive", errors={"organization_id": [problem]})
    audit_log_write(organization=membership.organization, actor=user, action="auth.switch", target=user)
    return session_issue(user=user, membership=membership, session_id=session_id)


class SignInMethod:
    PASSWORD = "password"
    GOOGLE = "google"
    MAGIC_LINK = "magic_link"


def _sign_in_refusal(*, user: User, membership: Membership | None, method: str) -> ServiceError | None:
    """What an organization's sign-in policy (settings "sign_in", accounts.org_settings) says against this sign-in:
    an organization of the person's that requires Google refuses every other method (for all of the person's
    organizations: a session could switch into it), and the organization signed in to refuses an address outside its
    allowed domains."""
    if method != SignInMethod.GOOGLE:
        memberships = Membership.objects.select_related("organization").filter(
            user=user, is_active=True, organization__status=Organization.Status.ACTIVE
        )
        for other in memberships:
            if org_settings.sign_in_policy(other.organization.settings)[0]:
                detail = gettext("%(org)s requires its members to sign in with Google.") % {
                    "org": other.organization.name
                }
                return ServiceError(detail, status_code=403, code="google_required")
    if membership is not None and not org_settings.email_domain_allowed(membership.organization.settings, user.email):
        detail = gettext("%(org)s accepts only members whose e-mail address is in one of its domains.") % {
            "org": membership.organization.name
        }
        return ServiceError(detail, status_code=403, code="domain_not_allowed")
    return None


def auth_sign_in_complete(
    *,
    request,
    user: User,
    method: str,
    organization_id: int | None = None,
    staff_only: bool = False,
    second_step_done: bool = False,
) -> Membership | None:
    """The person proved who they are (`method`: a password, Google, an e-mail link): choose the organization to act
    in, apply the organizations' sign-in policies, record the sign-in (audited as auth.login with its method) and
    return the membership (None: staff outside every tenant).

    Staff may act in no organization (`staff_only` logins always do); everyone else needs an active membership in an
    active organization.

    A person with two-step sign-in on, from a browser they do not trust, is not signed in: SecondStepRequired
    carries the challenge accounts.two_factor.auth_second_step completes (`second_step_done` then). Nothing is
    written before it is raised."""
    if staff_only and not user.is_staff:
        raise ServiceError("Super admin access required.", status_code=403, code="permission_denied")
    if staff_only:
        membership = None  # the super-admin session acts on the platform, outside every tenant
    elif organization_id is not None:
        membership = selectors.membership_for(user=user, organization_id=organization_id)
    else:
        membership = selectors.default_membership(user=user) or (
            None if user.is_staff else selectors.user_memberships(user=user).first()
        )
    if membership is not None or not user.is_staff:
        problem = selectors.membership_problem(membership)
        if problem:
            raise _unauthorized(problem, "membership_inactive")
    refusal = _sign_in_refusal(user=user, membership=membership, method=method)
    if refusal is not None:
        raise refusal
    if not second_step_done and two_factor.second_step_needed(request=request, user=user):
        raise two_factor.SecondStepRequired(
            two_factor.challenge_issue(
                user=user,
                method=method,
                organization_id=membership.organization_id if membership is not None else None,
                staff_only=staff_only,
            )
        )

    user_logged_in.send(sender=User, request=request, user=user)  # resets axes, sets last_login
    if membership is not None:
        audit_log_write(
            organization=membership.organization,
            actor=user,
            action="auth.login",
            target=user,
            data={} if method == SignInMethod.PASSWORD else {"method": method},
        )
    return membership


def auth_authenticate(
    *, request, email: str, password: str, organization_id: int | None = None, staff_only: bool = False
) -> tuple[User, Membership | None]:
    """Check credentials under the lockout (accounts.lockout: counted per e-mail and client, slowed down, then
    locked) and complete the sign-in (auth_sign_in_complete). The API then issues tokens (auth_login), the web app
    opens a browser session.

    `request` is the Django HttpRequest (axes keys its records on it)."""
    email = normalize_email(email)
    wait = lockout.retry_after(request, email)
    if wait:
        raise ServiceError(
            gettext("Too many failed sign-in attempts: wait %(seconds)d seconds before trying again.")
            % {"seconds": wait},
            status_code=429,
            code="too_many_attempts",
            headers={"Retry-After": str(wait)},
        )
    user = authenticate(request=request, username=email, password=password)
    if getattr(request, "axes_locked_out", False):
        minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
        error = _unauthorized(
            gettext(
                "Too many failed sign-in attempts: this account is locked for %(minutes)d minutes on this device. "
                "A sign-in link sent by e-mail still works."
            )
            % {"minutes": minutes},
            "account_locked",
        )
        error.headers = {"Retry-After": str(lockout.lock_remaining(request, email) or 1)}
        raise error
    if user is None:
        raise _unauthorized(gettext("Invalid e-mail or password."), "invalid_credentials")
    membership = auth_sign_in_complete(
        request=request,
        user=user,
        method=SignInMethod.PASSWORD,
        organization_id=organization_id,
        staff_only=staff_only,
    )
    return user, membership


def _google_sign_up(*, identity) -> User:
    """A first Google sign-in: a new account (no password: Google, an e-mail link or a password reset sign it in)
    with a new organization of which it is the admin, as registration makes. Refused while sign-up is closed
    (SIGNUP_OPEN off): people then join by invitation."""
    if not settings.SIGNUP_OPEN:
        raise ServiceError(
            gettext("Sign-up is by invitation only: ask an admin of your organization to invite you."),
            status_code=403,
            code="signup_closed",
        )
    email = normalize_email(identity.email)
    name = identity.name.strip() or email.split("@", 1)[0]
    try:
        with transaction.atomic():
            user = User.objects.create_user(email, None, name=name)
    except IntegrityError:  # a concurrent first sign-in created it: use that one
        return User.objects.get(email=email)
    organization_create_for_user(user=user, name=gettext("%(name)s's organization") % {"name": name[:150]})
    return user


def auth_google(*, request, token: str, organization_id: int | None = None) -> Session:
    """Sign in with a Google ID token (accounts.google.verify_id_token, outside any transaction: it may fetch Google's
    keys), then auth_google_identity; a token pair acting in the chosen organization."""
    identity = google.verify_id_token(token)
    user, membership = auth_google_identity(request=request, identity=identity, organization_id=organization_id)
    return session_issue(user=user, membership=membership, request=request)


@transaction.atomic
def auth_google_identity(
    *, request, identity: google.GoogleIdentity, organization_id: int | None = None
) -> tuple[User, Membership | None]:
    """Sign in the account with the e-mail Google verified, or a new one with its own organization (_google_sign_up);
    then auth_sign_in_complete (method google)."""
    user = User.objects.filter(email=normalize_email(identity.email)).first() or _google_sign_up(identity=identity)
    if not user.is_active:
        raise _unauthorized(gettext("This account is deactivated."), "account_inactive")
    membership = auth_sign_in_complete(
        request=request, user=user, method=SignInMethod.GOOGLE, organization_id=organization_id
    )
    return user, membership


def auth_login(
    *, request, email: str, password: str, organization_id: int | None = None, staff_only: bool = False
) -> Session:
    """auth_authenticate, then a token pair acting in the chosen organization."""
    user, membership = auth_authenticate(
        request=request, email=email, password=password, organization_id=organization_id, staff_only=staff_only
    )
    return session_issue(user=user, membership=membership, request=request)


def _claim_refresh_token(raw: str) -> RefreshToken:
    """Verify a refresh token and blacklist it; a token can be claimed once. Call inside a transaction."""
    try:
        token = RefreshToken(raw)
    except TokenError:
        raise _unauthorized("Refresh token is invalid, expired or revoked.", "token_not_valid") from None
    # order_by("pk"): the model's default ordering ("user") joins the nullable user table, and
    # PostgreSQL refuses FOR UPDATE on the nullable side of an outer join.
    outstanding = OutstandingToken.objects.select_for_update().filter(jti=token["jti"]).order_by("pk").first()
    if outstanding is None:
        raise _unauthorized("Refresh token is invalid, expired or revoked.", "token_not_valid")
    _, created = BlacklistedToken.objects.get_or_create(token=outstanding)
    if not created:
        raise _unauthorized("Refresh token is invalid, expired or revoked.", "token_not_valid")
    return token


@transaction.atomic
def auth_refresh(*, refresh_token: str, request=None) -> Session:
    """Rotate: the used refresh token is blacklisted and a new pair is issued for the same organization, within the
    same API session (401 once it ended; a token from before sessions were recorded opens one for `request`)."""
    token = _claim_refresh_token(refresh_token)
    user = User.objects.filter(pk=token.get("user_id"), is_active=True).first()
    if user is None or token.get("tv") != user.token_version:
        raise _unauthorized("Refresh token is invalid, expired or revoked.", "token_not_valid")
    membership = None
    if token.get("org") is not None:
        membership = selectors.membership_for(user=user, organization_id=token["org"])
        problem = selectors.membership_problem(membership)
        if problem:
            raise _unauthorized(problem, "membership_inactive")
    session_id = sessions.api_session_for_refresh(request=request, token=token, user=user)
    access, refresh = _issue_tokens(user=user, membership=membership, session_id=session_id)
    return Session(access, refresh, user, membership)


@transaction.atomic
def auth_logout(*, refresh_token: str) -> None:
    """Sign out: the refresh token is blacklisted and its API session ends (its access tokens stop working)."""
    token = _claim_refresh_token(refresh_token)
    sessions.user_session_sign_out(user_id=token.get("user_id"), session_id=token.get(sessions.SESSION_CLAIM))


def auth_tokens_flush_expired(*, batch_size: int = 1000) -> int:
    """Delete the refresh tokens past their expiry, with their blacklist entries (beat, daily): an expired token is
    refused on its own expiry claim, so its rows only grow the tables. In batches, one transaction each, so no
    statement holds the tables for long. Returns how many tokens were deleted."""
    now = timezone.now()
    deleted = 0
    while True:
        with transaction.atomic():
            # order_by("pk"): the model's default ordering joins the user table.
            expired = OutstandingToken.objects.filter(expires_at__lte=now).order_by("pk")
            ids = list(expired.values_list("pk", flat=True)[:batch_size])
            OutstandingToken.objects.filter(pk__in=ids).delete()  # the blacklist entries go with them
        deleted += len(ids)
        if len(ids) < batch_size:
            return deleted


def _ws_ticket_key(ticket: str) -> str:
    return f"ws-ticket:{hash_secret(ticket)}"


def ws_ticket_issue(
    *,
    organization: Organization,
    role: str,
    user_id: int | None,
    api_key_id: int | None,
    session_id: int | None = None,
) -> str:
    """A ticket that opens one live-inbox socket as this member (user_id) or API key (api_key_id, no user) within
    WS_TICKET_TTL: what an API client passes as `?ticket=` instead of its token. `session_id`: the member's session
    (accounts.sessions) asking for it: ending that session closes the socket. Kept in the cache under its digest
    (the cache never holds a usable ticket)."""
    ticket = secrets.token_urlsafe(32)
    claim = {
        "user_id": user_id,
        "organization_id": organization.pk,
        "role": role,
        "api_key_id": api_key_id,
        "session_id": session_id,
        "expires_at": (timezone.now() + WS_TICKET_TTL).timestamp(),
    }
    cache.set(_ws_ticket_key(ticket), claim, timeout=WS_TICKET_TTL.total_seconds())
    return ticket


def ws_ticket_claim(*, ticket: str) -> selectors.Principal:
    """Use a ticket once: the principal it was issued to, as it stands now (selectors.principal_current: 403 when
    it may no longer act), within the session it was issued in. 401 for an unknown, expired or used ticket, or one
    whose session has ended since. Single use even when claims race: each may read it, but only the one whose delete
    removed it gets it."""
    key = _ws_ticket_key(ticket)
    claim = cache.get(key)
    if claim is None or not cache.delete(key) or claim["expires_at"] <= timezone.now().timestamp():
        raise _unauthorized("The ticket is invalid, expired or already used.", "invalid_ticket")
    session_id = claim.get("session_id")
    if session_id is not None and not sessions.session_in_use(session_id=session_id, user_id=claim["user_id"]):
        raise _unauthorized("The session this ticket was issued in has ended.", "session_ended")
    principal = selectors.principal_current(
        organization_id=claim["organization_id"], user_id=claim["user_id"], api_key_id=claim["api_key_id"]
    )
    return replace(principal, session_id=session_id)


def _revoke_all_sessions(user: User) -> None:
    """Every token of the user fails from now on: version bump (access) and blacklist (refresh)."""
    User.objects.filter(pk=user.pk).update(token_version=F("token_version") + 1)
    user.refresh_from_db(fields=["token_version"])
    outstanding = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
    BlacklistedToken.objects.bulk_create([BlacklistedToken(token=t) for t in outstanding], ignore_conflicts=True)


def password_reset_request(*, email: str) -> None:
    """Queue the reset e-mail for this address. The same work whether an account has it or not (the task looks it
    up), so neither the answer nor its timing tells."""
    enqueue_after_commit(account_tasks.send_password_reset, normalize_email(email))


def password_reset_send(*, email: str) -> None:
    """E-mail a single-use reset token to the active account with this e-mail, if there is one (the task's work).
    The token is made here from the account: it is bound to its password hash, so it works once."""
    user = User.objects.filter(email=normalize_email(email), is_active=True).first()
    if user is None:
        return
    token = f"{urlsafe_base64_encode(force_bytes(user.pk))}.{default_token_generator.make_token(user)}"
    mail.send_templated(
        user=user,
        template="password_reset",
        context={
            "token": token,
            "url": f"{settings.PUBLIC_BASE_URL}/reset-password?token={token}",
            "minutes": settings.PASSWORD_RESET_TIMEOUT // 60,
        },
    )


@transaction.atomic
def password_reset(*, token: str, new_password: str) -> None:
    """Set a new password from a reset token (single use: it is bound to the old password hash)."""
    user = selectors.password_reset_user(token=token, lock=True)
    if user is None:
        raise ServiceError(
            gettext("Invalid or expired reset token."), errors={"token": [gettext("Invalid or expired.")]}
        )
    _validate_password(new_password, user, field="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    _revoke_all_sessions(user)


def invitation_send(*, organization_id: int, invitation_id: int) -> None:
    """E-mail a pending, unexpired invitation its single-use token (the task's work). The token is issued here and
    only its hash stored, so it never travels through the broker; a second run issues a new token, and its e-mail
    supersedes the first. The e-mail is queued with the new hash and sent after the commit."""
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        invitation = (
            Invitation.objects.for_org(Organization(pk=organization_id))
            .select_related("organization")
            .select_for_update(of=("self",))
            .filter(pk=invitation_id, status=Invitation.Status.PENDING, expires_at__gt=timezone.now())
            .first()
        )
        if invitation is None:
            return
        invitation.token_hash = hash_secret(token)
        invitation.save(update_fields=["token_hash"])
        mail.send_templated_to_address(
            address=invitation.email,
            template="invitation",
            context={
                "organization": invitation.organization,
                "role": invitation.role,
                "token": token,
                "url": f"{settings.PUBLIC_BASE_URL}/accept-invite?token={token}",
                "expires_at": invitation.expires_at,
            },
            organization=invitation.organization,
        )


def _check_seat_available(org: Organization) -> None:
    """A 400 (user_limit_reached) when the plan's seats (active members and pending invitations) are all taken."""
    if org.user_limit is not None:
        plans.limit_check(organization=org, resource="users", used=selectors.seats_used(org=org))


@transaction.atomic
def invitation_create(*, organization: Organization, email: str, role: str, invited_by) -> Invitation:
    """Add an e-mail to the access list; the single-use token goes out by e-mail only, from a task after commit."""
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    email = normalize_email(email)
    if not org_settings.email_domain_allowed(organization.settings, email):
        message = gettext("This organization accepts only addresses of its own domains (settings: sign_in).")
        raise ServiceError(message, errors={"email": [message]})
    if Membership.objects.for_org(organization).filter(user__email=email, is_active=True).exists():
        raise ServiceError(
            gettext("%(email)s is already a member.") % {"email": email},
            errors={"email": [gettext("Already a member.")]},
        )
    pending = Invitation.objects.for_org(organization).filter(email=email, status=Invitation.Status.PENDING)
    if pending.filter(expires_at__gt=timezone.now()).exists():
        raise ServiceError(
            gettext("%(email)s is already invited.") % {"email": email}, errors={"email": [gettext("Already invited.")]}
        )
    pending.update(status=Invitation.Status.REVOKED)  # an expired invitation gives way to the new one
    _check_seat_available(organization)
    invitation = Invitation.objects.create(
        organization=organization,
        email=email,
        role=role,
        invited_by=invited_by if isinstance(invited_by, User) else None,
        # The hash of a token nobody knows: unusable until the task issues the one it e-mails.
        token_hash=hash_secret(secrets.token_urlsafe(32)),
        expires_at=timezone.now() + settings.INVITATION_TTL,
    )
    audit_log_write(
        organization=organization, actor=invited_by, action="invitation.create", target=invitation, data={"role": role}
    )
    enqueue_after_commit(account_tasks.send_invitation, organization.pk, invitation.pk)
    return invitation


@transaction.atomic
def invitation_revoke(*, organization: Organization, email: str, actor) -> Invitation:
    invitation = (
        Invitation.objects.for_org(organization)
        .filter(email=normalize_email(email), status=Invitation.Status.PENDING)
        .first()
    )
    if invitation is None:
        raise _not_found("Invitation")
    invitation.status = Invitation.Status.REVOKED
    invitation.save(update_fields=["status"])
    audit_log_write(organization=organization, actor=actor, action="invitation.revoke", target=invitation)
    return invitation


def _account_exists() -> ServiceError:
    return ServiceError(
        gettext("This e-mail already has an account: accept with its password."),
        errors={"password": [gettext("Wrong password for the existing account.")]},
    )


@transaction.atomic
def invitation_accept(*, token: str, password: str, name: str = "") -> Membership:
    """Join through an invitation: a new account, or a second membership for an existing one
    (which must then prove its password)."""
    invitations = Invitation.objects.select_for_update().select_related("organization")
    invitation = invitations.filter(token_hash=hash_secret(token or "")).first()
    if invitation is None or not invitation.is_usable:
        raise ServiceError(
            gettext("The invitation is invalid, revoked or expired."), status_code=403, code="invalid_invitation"
        )
    organization = Organization.objects.select_for_update().get(pk=invitation.organization_id)
    if not organization.is_active:
        raise ServiceError(gettext("The organization is suspended."), status_code=403, code="organization_suspended")

    user = User.objects.filter(email=invitation.email).first()
    if user is not None:
        if not user.is_active or not user.check_password(password):
            raise _account_exists()
    else:
        _validate_password(password, User(email=invitation.email, name=name))

    membership = Membership.objects.for_org(organization).filter(user=user).first() if user else None
    if membership is not None and membership.is_active:
        raise ServiceError(gettext("You are already a member of this organization."), code="already_member")
    # The invitation itself held a seat; it is released as the membership takes it.
    invitation.status = Invitation.Status.ACCEPTED
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["status", "accepted_at"])
    _check_seat_available(organization)

    if user is None:
        try:
            with transaction.atomic():
                user = User.objects.create_user(invitation.email, password, name=name.strip())
        except IntegrityError:  # an account for this e-mail was created since the check (another invitation)
            raise _account_exists() from None
    if membership is None:
        membership = Membership.objects.create(organization=organization, user=user, role=invitation.role)
    else:
        membership.is_active, membership.role = True, invitation.role
        membership.save(update_fields=["is_active", "role"])
    audit_log_write(organization=organization, actor=user, action="invitation.accept", target=invitation)
    return membership


def _locked_member(*, organization: Organization, user_id) -> Membership:
    # Lock the organization's admin rows too, so two concurrent demotions cannot remove the last admin.
    list(Membership.objects.for_org(organization).select_for_update().filter(role=Role.ADMIN))
    membership = Membership.objects.for_org(organization).select_for_update().filter(user_id=user_id).first()
    if membership is None:
        raise _not_found("Member")
    return membership


def _is_last_admin(membership: Membership) -> bool:
    return (
        membership.role == Role.ADMIN
        and membership.is_active
        and selectors.active_admin_count(org=membership.organization) <= 1
    )


@transaction.atomic
def member_set_role(*, organization: Organization, user_id, role: str, actor) -> Membership:
    membership = _locked_member(organization=organization, user_id=user_id)
    if membership.role == role:
        return membership
    if _is_last_admin(membership):
        raise ServiceError(
            gettext("The last admin cannot be demoted: make someone else admin first."), code="last_admin"
        )
    previous = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    hooks.access_changed.send(organization_id=organization.pk)
    audit_log_write(
        organization=organization,
        actor=actor,
        action="member.role_change",
        target=membership.user,
        data={"from": previous, "to": role},
    )
    return membership


@transaction.atomic
def member_deactivate(*, organization: Organization, user_id, actor) -> Membership:
    """Deactivate a member here; their tokens for this organization fail on the next request, their open live-inbox
    sockets close (accounts.hooks.member_deactivated)."""
    membership = _locked_member(organization=organization, user_id=user_id)
    if not membership.is_active:
        return membership
    if _is_last_admin(membership):
        raise ServiceError(gettext("The last admin cannot be deactivated."), code="last_admin")
    membership.is_active = False
    membership.save(update_fields=["is_active"])
    hooks.member_deactivated.send(organization_id=organization.pk, user_id=membership.user_id)
    audit_log_write(organization=organization, actor=actor, action="member.deactivate", target=membership.user)
    return membership


@transaction.atomic
def member_activate(*, organization: Organization, user_id, actor) -> Membership:
    membership = _locked_member(organization=organization, user_id=user_id)
    if membership.is_active:
        return membership
    _check_seat_available(Organization.objects.select_for_update().get(pk=organization.pk))
    membership.is_active = True
    membership.save(update_fields=["is_active"])
    audit_log_write(organization=organization, actor=actor, action="member.activate", target=membership.user)
    return membership


def _team_members_set(*, team: Team, user_ids: list[int]) -> None:
    members = set(
        Membership.objects.for_org(team.organization).filter(user_id__in=user_ids).values_list("user_id", flat=True)
    )
    strangers = sorted(set(user_ids) - members)
    if strangers:
        raise ServiceError(
            gettext("Team members must be members of the organization."),
            errors={"member_ids": [gettext("User %(id)s is not a member.") % {"id": pk} for pk in strangers]},
        )
    TeamMember.objects.for_org(team.organization).filter(team=team).exclude(user_id__in=members).delete()
    TeamMember.objects.bulk_create(
        [TeamMember(organization=team.organization, team=team, user_id=pk) for pk in members], ignore_conflicts=True
    )
    hooks.access_changed.send(organization_id=team.organization_id)


def _team_name_taken() -> ServiceError:
    return ServiceError(gettext("A team with this name exists."), errors={"name": [gettext("Already exists.")]})


@transaction.atomic
def team_create(*, organization: Organization, name: str, description: str = "", member_ids=(), actor) -> Team:
    try:
        with transaction.atomic():
            team = Team.objects.create(organization=organization, name=name.strip(), description=description)
    except IntegrityError:
        raise _team_name_taken() from None
    _team_members_set(team=team, user_ids=list(member_ids))
    audit_log_write(organization=organization, actor=actor, action="team.create", target=team)
    return team


@transaction.atomic
def team_update(*, team: Team, actor, name=None, description=None, member_ids=None) -> Team:
    if name is not None:
        team.name = name.strip()
    if description is not None:
        team.description = description
    try:
        with transaction.atomic():
            team.save()
    except IntegrityError:
        raise _team_name_taken() from None
    if member_ids is not None:
        _team_members_set(team=team, user_ids=list(member_ids))
    audit_log_write(organization=team.organization, actor=actor, action="team.update", target=team)
    return team


@transaction.atomic
def team_delete(*, team: Team, actor) -> None:
    audit_log_write(organization=team.organization, actor=actor, action="team.delete", target=team)
    team.delete()
    hooks.access_changed.send(organization_id=team.organization_id)


@transaction.atomic
def api_key_create(*, organization: Organization, name: str, role: str, actor) -> tuple[ApiKey, str]:
    """Create a key; the returned secret is shown once and never stored."""
    prefix = secrets.token_hex(ApiKey.PREFIX_LENGTH // 2)
    raw = f"wh_{prefix}_{secrets.token_hex(24)}"
    key = ApiKey.objects.create(
        organization=organization,
        name=name.strip(),
        prefix=prefix,
        key_hash=hash_secret(raw),
        role=role,
        created_by=actor if isinstance(actor, User) else None,
    )
    audit_log_write(organization=organization, actor=actor, action="api_key.create", target=key, data={"role": role})
    return key, raw


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor) -> ApiKey:
    """The key fails from the next request on. Idempotent: revoking a revoked key changes nothing (audited once,
    even when two revocations race: the conditional update lets one of them through)."""
    keys = ApiKey.objects.for_org(api_key.organization).filter(pk=api_key.pk)
    if keys.filter(revoked_at__isnull=True).update(revoked_at=timezone.now()):
        audit_log_write(organization=api_key.organization, actor=actor, action="api_key.revoke", target=api_key)
        hooks.api_key_revoked.send(organization_id=api_key.organization_id, api_key_id=api_key.pk)
    api_key.revoked_at = keys.values_list("revoked_at", flat=True).get()
    return api_key


def api_key_touch(*, api_key: ApiKey) -> None:
    """Record use, at most once a minute per key (one UPDATE, no read)."""
    now = timezone.now()
    if api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() > 60:
        ApiKey.objects.for_org(api_key.organization).filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now


@transaction.atomic
def organization_update(*, organization: Organization, actor, name=None, settings=None) -> Organization:
    """An organization admin's edit. `settings`: the keys to change (accounts.org_settings; null removes one),
    merged into the current ones; a 400 names each bad key."""
    changed = []
    if name is not None:
        organization.name = name.strip()
        changed.append("name")
    if settings is not None:
        new_settings = org_settings.settings_apply(current=organization.settings, changes=settings)
        if (
            org_settings.admin_two_factor_required(new_settings)
            and isinstance(actor, User)
            and not two_factor.is_enabled(user=actor)
        ):  # the admin would shut themselves out of the admin pages: they turn it on for themselves first
            message = gettext("Turn on two-step sign-in for yourself before requiring it of admins.")
            raise ServiceError(message, errors={"settings": {"require_admin_two_factor": [message]}})
        organization.settings = new_settings
        changed.append("settings")
    if changed:
        organization.save(update_fields=changed)
        audit_log_write(
            organization=organization,
            actor=actor,
            action="organization.update",
            target=organization,
            data={"fields": changed},
        )
    return organization


@transaction.atomic
def organization_create_with_admin(*, name: str, admin_email: str, plan: str, actor) -> tuple[Organization, Invitation]:
    """Super admin: a new tenant on an active plan and an admin invitation for its first user."""
    organization = organization_create(name=name, plan=plans.plan_assignable_or_error(plan))
    audit_log_write(organization=organization, actor=actor, action="organization.create", target=organization)
    platform_audit_write(actor=actor, action="organization.create", organization=organization, data={"plan": plan})
    invitation = invitation_create(organization=organization, email=admin_email, role=Role.ADMIN, invited_by=actor)
    return organization, invitation


@transaction.atomic
def organization_platform_update(*, organization: Organization, actor, **fields) -> Organization:
    """Super admin edits (name, plan: an active plan's code, or the current one)."""
    changed = [name for name, value in fields.items() if value is not None]
    if "plan" in changed:
        plans.plan_assignable_or_error(fields["plan"], current=organization.plan)
    for name in changed:
        setattr(organization, name, fields[name].strip() if name == "name" else fields[name])
    if changed:
        organization.save(update_fields=changed)
        audit_log_write(
            organization=organization,
            actor=actor,
            action="organization.update",
            target=organization,
            data={name: fields[name] for name in changed},
        )
        platform_audit_write(
            actor=actor, action="organization.update", organization=organization, data={n: fields[n] for n in changed}
        )
    return organization


@transaction.atomic
def organization_set_status(*, organization: Organization, status: str, actor) -> Organization:
    """Suspending stops every token and API key of the organization at once (checked per request), and its open
    live-inbox sockets (accounts.hooks.organization_suspended)."""
    previous = organization.status
    if previous != status:
        organization.status = status
        organization.save(update_fields=["status"])
        audit_log_write(
            organization=organization,
            actor=actor,
            action="organization.status_change",
            target=organization,
            data={"from": previous, "to": status},
        )
        platform_audit_write(
            actor=actor,
            action="organization.status_change",
            organization=organization,
            data={"from": previous, "to": status},
        )
        if status == Organization.Status.SUSPENDED:
            hooks.organization_suspended.send(organization_id=organization.pk)
    return organization


@transaction.atomic
def organization_delete(*, organization: Organization) -> None:
    """Remove the tenant and every row it owns (all tenant models cascade from it). The apps built on accounts
    (accounts.hooks.organization_deleting) remove what lives outside the database, such as stored media files,
    after the commit."""
    hooks.organization_deleting.send(organization=organization)
    organization.delete()


# --- system log -------------------------------------------------------------------------------------------------------
#
# What an organization's admins should know happened (accounts.models.SystemLog), written by the services of every app
# at their failure points. Writing one is cheap and never raises into the caller: a log that cannot be written is
# logged and dropped, never the reason a delivery or an ingest fails. Inside a transaction the entries are written
# after its commit (dropped on rollback): a log never tells of something that did not happen, and its insert is never
# part of (or the failure of) the caller's transaction. Outside one they are written at once. New entries are
# announced after they are stored (hooks.system_logs_written: the live push to the admins' logs page).


@dataclass(frozen=True)
class SystemLogEntry:
    """One entry for system_logs_write. `message` is a template in the product's words (mark it with gettext_noop:
    the pages show it translated) whose %(name)s placeholders `details` fills in; `related` names the row it is
    about, (type, id)."""

    organization_id: int
    level: str
    category: str
    message: str
    details: dict | None = None
    related: tuple[str, object] | None = None


# A detail value shown in a message is cut to this many characters (e.g. a provider's error title).
SYSTEM_LOG_VALUE_MAX = 300


def _bounded_details(details: dict | None) -> dict:
    """`details` as JSON data: strings cut to SYSTEM_LOG_VALUE_MAX, the whole at most SystemLog.DETAILS_MAX characters
    of JSON (else an excerpt of it, marked truncated)."""
    if not details:
        return {}

    def bound(value):
        if isinstance(value, dict):
            return {str(key)[:64]: bound(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [bound(item) for item in value]
        if value is None or isinstance(value, bool | int | float):
            return value
        return str(value)[:SYSTEM_LOG_VALUE_MAX]

    data = bound(details)
    text = json.dumps(data, ensure_ascii=False)
    if len(text) <= SystemLog.DETAILS_MAX:
        return data
    return {"excerpt": text[: SystemLog.DETAILS_MAX - 100], "truncated": True}


def _system_log_row(entry: SystemLogEntry, now) -> SystemLog:
    if entry.level not in SystemLog.Level.values or entry.category not in SystemLog.Category.values:
        raise ValueError(f"system log: unknown level {entry.level!r} or category {entry.category!r}")
    details = _bounded_details(entry.details)
    try:
        message = entry.message % details if "%(" in entry.message else entry.message
    except (KeyError, TypeError, ValueError):
        message = entry.message
    related_type, related_id = entry.related or ("", "")
    return SystemLog(
        organization_id=entry.organization_id,
        level=entry.level,
        category=entry.category,
        message=message[: SystemLog.MESSAGE_MAX],
        template=entry.message[: SystemLog.MESSAGE_MAX],
        details=details,
        related_type=str(related_type)[:64],
        related_id=str(related_id)[:64] if related_id is not None else "",
        created_at=now,
    )


def system_logs_write(*, entries: list[SystemLogEntry]) -> None:
    """Store these entries (one statement however many), after the commit when called inside a transaction, then
    announce them. Never raises: a failure is logged (whatsapp_hub.aftercommit) and the entries are dropped."""
    if not entries:
        return
    try:
        entries = list(entries)
    except Exception:  # an iterable that fails is the caller's bug: logged, never raised into its flow
        logger.exception("system log entries not written")
        return
    run_after_commit(partial(_system_logs_store, entries), what="system log write")


def system_log_write(
    *,
    organization_id: int,
    level: str,
    category: str,
    message: str,
    details: dict | None = None,
    related: tuple[str, object] | None = None,
) -> None:
    """One entry (see SystemLogEntry and system_logs_write): after the commit, never raising."""
    system_logs_write(
        entries=[SystemLogEntry(organization_id, level, category, message, details=details, related=related)]
    )


def _system_logs_store(entries: list[SystemLogEntry]) -> None:
    now = timezone.now()
    logs = SystemLog.objects.bulk_create([_system_log_row(entry, now) for entry in entries])
    _system_logs_announce(logs)


def _system_logs_announce(logs: list[SystemLog]) -> None:
    by_org: dict[int, list[SystemLog]] = {}
    for log in logs:
        by_org.setdefault(log.organization_id, []).append(log)
    for organization_id, rows in by_org.items():
        hooks.system_logs_written.send(organization_id=organization_id, logs=rows)


def system_log_add(*, organization: Organization, level: str, message: str, details: dict | None = None) -> SystemLog:
    """An entry an API client adds to its organization's log (POST logs): category `api`, its message as written
    (bounded, never a template), announced after the commit. 400 for a level or message the log does not take."""
    if level not in SystemLog.Level.values:
        raise invalid_input({"level": [gettext("Choose info, warning or error.")]})
    message = (message or "").strip()
    if not message or len(message) > SystemLog.MESSAGE_MAX:
        text = gettext("Write a message of 1 to %(max)d characters.") % {"max": SystemLog.MESSAGE_MAX}
        raise invalid_input({"message": [text]})
    details = details or {}
    if len(json.dumps(details, ensure_ascii=False, default=str)) > SystemLog.DETAILS_MAX:
        text = gettext("At most %(max)d characters of JSON.") % {"max": SystemLog.DETAILS_MAX}
        raise invalid_input({"details": [text]})
    with transaction.atomic():
        log = SystemLog.objects.create(
            organization=organization,
            level=level,
            category=SystemLog.Category.API,
            message=message,
            details=details,
        )
        run_after_commit(partial(_system_logs_announce, [log]), what="system log announce")
    return log


# A run deletes at most this many batches (the next run goes on), so it stays well inside the task time limit.
SYSTEM_LOG_PRUNE_BATCH = 1000
SYSTEM_LOG_PRUNE_MAX_BATCHES = 200


def system_logs_prune(
    *, batch_size: int = SYSTEM_LOG_PRUNE_BATCH, max_batches: int = SYSTEM_LOG_PRUNE_MAX_BATCHES
) -> int:
    """Delete the entries older than SYSTEM_LOG_RETENTION_DAYS, of every organization, in short batches (the beat
    task's work). Returns how many. Safe to run twice at once."""
    cutoff = timezone.now() - timedelta(days=settings.SYSTEM_LOG_RETENTION_DAYS)
    return delete_in_batches(
        SystemLog.objects.filter(created_at__lt=cutoff), batch_size=batch_size, max_batches=max_batches
    )


# --- custom pages --------------------------------------------------------------------------------------------------

# The icons a custom page may show in the rail (ids of static/img/icons.svg) and their names in the form.
CUSTOM_PAGE_ICONS = {
    "file": gettext_lazy("Document"),
    "globe": gettext_lazy("Globe"),
    "knowledge": gettext_lazy("Book"),
    "dashboard": gettext_lazy("Chart"),
    "tag": gettext_lazy("Tag"),
    "team": gettext_lazy("People"),
    "user": gettext_lazy("Person"),
    "phone": gettext_lazy("Phone"),
    "bell": gettext_lazy("Bell"),
    "clock": gettext_lazy("Clock"),
    "pin": gettext_lazy("Pin"),
    "image": gettext_lazy("Picture"),
    "video": gettext_lazy("Video"),
    "keyboard": gettext_lazy("Keyboard"),
    "shield": gettext_lazy("Shield"),
    "compose": gettext_lazy("Pencil"),
}
CUSTOM_PAGE_TITLE_MAX_LENGTH = CustomPage._meta.get_field("title").max_length
CUSTOM_PAGE_CONTENT_MAX_LENGTH = 50_000
CUSTOM_PAGE_URL_MAX_LENGTH = CustomPage._meta.get_field("url").max_length
CUSTOM_PAGE_POSITION_MAX = 1000
# The rail has room for a few: more is a menu nobody reads.
CUSTOM_PAGES_MAX = 20


def _custom_page_refuse(field: str, message: str) -> ServiceError:
    return ServiceError(message, errors={field: [message]})


def http_origin(url: str) -> str | None:
    """The origin (scheme://host[:port]) of an http(s) address, else None."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port out of range
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def _custom_page_fields(*, page: CustomPage) -> None:
    """Checks the page as it will be saved; a 400 naming the field at fault."""
    page.title = page.title.strip()
    if not page.title:
        raise _custom_page_refuse("title", gettext("Give the page a title: it is its name in the navigation."))
    if len(page.title) > CUSTOM_PAGE_TITLE_MAX_LENGTH:
        raise _custom_page_refuse(
            "title", gettext("A title is at most %(max)d characters.") % {"max": CUSTOM_PAGE_TITLE_MAX_LENGTH}
        )
    if page.icon not in CUSTOM_PAGE_ICONS:
        raise _custom_page_refuse("icon", gettext("Choose one of the icons offered."))
    if not 0 <= page.position <= CUSTOM_PAGE_POSITION_MAX:
        raise _custom_page_refuse(
            "position", gettext("A position is a number from 0 to %(max)d.") % {"max": CUSTOM_PAGE_POSITION_MAX}
        )
    if page.kind == CustomPage.Kind.MARKDOWN:
        if not page.content.strip():
            raise _custom_page_refuse("content", gettext("Write the page's text (Markdown)."))
        if len(page.content) > CUSTOM_PAGE_CONTENT_MAX_LENGTH:
            raise _custom_page_refuse(
                "content", gettext("The text is at most %(max)d characters.") % {"max": CUSTOM_PAGE_CONTENT_MAX_LENGTH}
            )
        page.url = ""
    elif page.kind == CustomPage.Kind.URL:
        page.url = page.url.strip()
        if len(page.url) > CUSTOM_PAGE_URL_MAX_LENGTH or http_origin(page.url) is None:
            raise _custom_page_refuse(
                "url", gettext("Give a full http:// or https:// address (without a user name or password).")
            )
        page.content = ""
    else:
        raise _custom_page_refuse("kind", gettext("A page shows Markdown or an external URL."))


def custom_page_create(
    *,
    organization: Organization,
    actor,
    title: str,
    kind: str,
    icon: str = "file",
    position: int = 0,
    content: str = "",
    url: str = "",
) -> CustomPage:
    """A new entry in the organization's navigation (audited as custom_page.create); 400s name the field at fault,
    and past CUSTOM_PAGES_MAX pages a 400 too."""
    page = CustomPage(
        organization=organization, title=title, kind=kind, icon=icon, position=position, content=content, url=url
    )
    _custom_page_fields(page=page)
    with transaction.atomic():
        # Locks the organization: two admins adding the last page at once cannot pass the cap together.
        Organization.objects.select_for_update().filter(pk=organization.pk).first()
        if CustomPage.objects.for_org(organization).count() >= CUSTOM_PAGES_MAX:
            raise ServiceError(
                gettext("An organization has at most %(max)d custom pages: delete one first.")
                % {"max": CUSTOM_PAGES_MAX}
            )
        page.save()
        audit_log_write(organization=organization, actor=actor, action="custom_page.create", target=page)
    return page


def custom_page_update(*, page: CustomPage, actor, **changes) -> CustomPage:
    """Change the fields given (title, kind, icon, position, content, url); checked as custom_page_create checks
    them (changing the kind clears the other kind's field). Audited as custom_page.update."""
    for name in ("title", "kind", "icon", "position", "content", "url"):
        if name in changes and changes[name] is not None:
            setattr(page, name, changes[name])
    _custom_page_fields(page=page)
    with transaction.atomic():
        page.save()
        audit_log_write(organization=page.organization, actor=actor, action="custom_page.update", target=page)
    return page


@transaction.atomic
def custom_page_delete(*, page: CustomPage, actor) -> None:
    """Remove it from the navigation (audited as custom_page.delete, with its title)."""
    audit_log_write(
        organization=page.organization,
        actor=actor,
        action="custom_page.delete",
        target=page,
        data={"title": page.title},
    )
    page.delete()
