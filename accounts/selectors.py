import hmac
from dataclasses import dataclass

from django.contrib.auth.tokens import default_token_generator
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from django.utils.translation import gettext

from accounts import sessions
from accounts.models import (
    ApiKey,
    AuditLog,
    CustomPage,
    EmailAttachment,
    EmailLog,
    Invitation,
    Membership,
    Organization,
    Role,
    SystemLog,
    Team,
    TwoFactor,
    User,
    hash_secret,
)
from whatsapp_hub.errors import ServiceError


def membership_for(*, user: User, organization_id) -> Membership | None:
    return Membership.objects.select_related("organization").filter(user=user, organization_id=organization_id).first()


def membership_problem(membership: Membership | None) -> str | None:
    """Why a membership cannot act right now (None when it can)."""
    if membership is None:
        return gettext("You are not a member of this organization.")
    if not membership.is_active:
        return gettext("Your membership in this organization is deactivated.")
    if not membership.organization.is_active:
        return gettext("The organization is suspended.")
    return None


def default_membership(*, user: User) -> Membership | None:
    """The membership a login without organization_id acts in: the oldest usable one."""
    memberships = Membership.objects.select_related("organization").filter(user=user, is_active=True)
    return memberships.filter(organization__status=Organization.Status.ACTIVE).order_by("created_at", "id").first()


# The browser session's current organization (the organization switcher writes it).
SESSION_ORGANIZATION_KEY = "organization_id"


def session_membership(*, user: User, session) -> Membership | None:
    """The membership a signed-in browser acts in: the organization its session chose, else the oldest usable one.
    A chosen organization is kept even when the membership can no longer act (membership_problem says why).
    Platform staff impersonating an organization (accounts.impersonation) act in it as an admin: an unsaved
    membership (pk None), read-only."""
    from accounts import impersonation

    impersonated = impersonation.organization_for(user=user, session=session)
    if impersonated is not None:
        return Membership(organization=impersonated, user=user, role=Role.ADMIN, is_active=True)
    chosen = session.get(SESSION_ORGANIZATION_KEY)
    if chosen is not None:
        membership = membership_for(user=user, organization_id=chosen)
        if membership is not None:
            return membership
    return default_membership(user=user)


@dataclass(frozen=True)
class Principal:
    """Who acts, where and with which role, outside a request (a live-inbox socket): a member, or an API key (no
    user). `read_only`: staff impersonating the organization (accounts.impersonation): sees, never writes.
    `session_id`: the member's session (accounts.sessions) it acts within, when known: ending it ends the socket."""

    organization: Organization
    role: str
    user: User | None = None
    api_key_id: int | None = None
    read_only: bool = False
    session_id: int | None = None

    @property
    def user_id(self) -> int | None:
        return self.user.pk if self.user is not None else None


def _forbidden(detail: str, code: str) -> ServiceError:
    return ServiceError(detail, status_code=403, code=code)


def session_principal(*, user, session) -> Principal:
    """The signed-in browser's principal (session_membership). 401 when nobody is signed in, 403 when the
    membership cannot act (membership_problem)."""
    if not user.is_authenticated or not sessions.browser_session_alive(session):
        raise ServiceError("Sign in, or connect with a ticket.", status_code=401, code="not_authenticated")
    membership = session_membership(user=user, session=session)
    problem = membership_problem(membership)
    if problem:
        raise _forbidden(problem, "membership_inactive")
    read_only = membership.pk is None  # impersonation (session_membership)
    session_id = session.get(sessions.BROWSER_SESSION_KEY)
    return Principal(
        organization=membership.organization,
        role=membership.role,
        user=user,
        read_only=read_only,
        session_id=session_id if isinstance(session_id, int) else None,
    )


def principal_current(*, organization_id: int, user_id: int | None, api_key_id: int | None) -> Principal:
    """The member (user_id) or API key (api_key_id) of the organization as it stands now, with its current role;
    403 when it may no longer act: deactivated member or account, suspended organization, revoked key."""
    if api_key_id is not None:
        key = ApiKey.objects.select_related("organization").filter(pk=api_key_id, organization_id=organization_id)
        key = key.first()
        if key is None or not key.is_active:
            raise _forbidden("The API key was revoked.", "invalid_api_key")
        if not key.organization.is_active:
            raise _forbidden("The organization is suspended.", "organization_suspended")
        return Principal(organization=key.organization, role=key.role, api_key_id=key.pk)
    membership = (
        Membership.objects.select_related("organization", "user")
        .filter(organization_id=organization_id, user_id=user_id)
        .first()
    )
    problem = membership_problem(membership)
    if problem is None and not membership.user.is_active:
        problem = "This account is deactivated."
    if problem:
        raise _forbidden(problem, "membership_inactive")
    return Principal(organization=membership.organization, role=membership.role, user=membership.user)


def user_memberships(*, user: User) -> QuerySet[Membership]:
    return Membership.objects.select_related("organization").filter(user=user).order_by("created_at", "id")


def password_reset_user(*, token: str, lock: bool = False) -> User | None:
    """The active account a password-reset token (`<uid>.<signature>`, e-mailed by services.password_reset_send) is
    still valid for, else None. `lock`: select it for update (call inside a transaction)."""
    uid, _, signature = (token or "").partition(".")
    users = User.objects.select_for_update() if lock else User.objects
    try:
        user = users.get(pk=force_str(urlsafe_base64_decode(uid)), is_active=True)
    except (User.DoesNotExist, ValueError, TypeError, OverflowError):
        return None
    return user if default_token_generator.check_token(user, signature) else None


def invitation_for_token(*, token: str) -> Invitation | None:
    """The usable invitation an e-mailed token opens, with its organization, who invited, and `has_account` (whether
    its e-mail already has an account); None for an unknown, accepted, revoked or expired one."""
    invitation = (
        Invitation.objects.select_related("organization", "invited_by")
        .annotate(has_account=Exists(User.objects.filter(email=OuterRef("email"))))
        .filter(token_hash=hash_secret(token or ""))
        .first()
    )
    return invitation if invitation is not None and invitation.is_usable else None


def api_key_for_secret(raw: str) -> ApiKey | None:
    """The active key whose secret is `raw` (format wh_<prefix>_<secret>), else None."""
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != "wh":
        return None
    key = ApiKey.objects.select_related("organization").filter(prefix=parts[1], revoked_at__isnull=True).first()
    if key is None:
        return None
    return key if hmac.compare_digest(key.key_hash, hash_secret(raw)) else None


def _members(org: Organization) -> QuerySet[Membership]:
    """The organization's memberships with their people and `two_factor_on` (two-step sign-in is on)."""
    two_factor_on = TwoFactor.objects.filter(user=OuterRef("user_id"), confirmed_at__isnull=False)
    return Membership.objects.for_org(org).select_related("user").annotate(two_factor_on=Exists(two_factor_on))


def team_members(*, org: Organization) -> QuerySet[Membership]:
    return _members(org).order_by("created_at", "id")


def member(*, org: Organization, user_id) -> Membership | None:
    return _members(org).filter(user_id=user_id).first()


def active_admin_count(*, org: Organization) -> int:
    return Membership.objects.for_org(org).filter(role=Role.ADMIN, is_active=True, user__is_active=True).count()


def seats_used(*, org: Organization) -> int:
    """Active members plus usable pending invitations: what counts against the plan's user limit."""
    members = Membership.objects.for_org(org).filter(is_active=True).count()
    pending = Invitation.objects.for_org(org).filter(status=Invitation.Status.PENDING, expires_at__gt=timezone.now())
    return members + pending.count()


def access_list(*, org: Organization) -> QuerySet[Invitation]:
    return Invitation.objects.for_org(org).select_related("invited_by")


def teams(*, org: Organization) -> QuerySet[Team]:
    return Team.objects.for_org(org).prefetch_related("members")


def api_keys(*, org: Organization) -> QuerySet[ApiKey]:
    return ApiKey.objects.for_org(org).select_related("created_by")


def audit_log(*, org: Organization) -> QuerySet[AuditLog]:
    return AuditLog.objects.for_org(org).select_related("actor", "api_key")


def system_log(*, org: Organization, level: str = "", category: str = "", since=None) -> QuerySet[SystemLog]:
    """The organization's system log, newest first, of one level and category when given, from `since` on."""
    logs = SystemLog.objects.for_org(org).order_by("-created_at", "-id")
    if level:
        logs = logs.filter(level=level)
    if category:
        logs = logs.filter(category=category)
    if since is not None:
        logs = logs.filter(created_at__gte=since)
    return logs


def email_log(
    *, org: Organization, kind: str = "", status: str = "", recipient: str = "", date_from=None, date_to=None
) -> QuerySet[EmailLog]:
    """The e-mails about the organization, newest first, with their attachments (without their bytes); of one kind
    and status when given, to an address containing `recipient`, created from `date_from` and before `date_to`."""
    logs = (
        EmailLog.objects.for_org(org)
        .defer("body_text", "body_html")
        .prefetch_related(Prefetch("attachments", queryset=EmailAttachment.objects.defer("content")))
        .order_by("-created_at", "-id")
    )
    if kind:
        logs = logs.filter(kind=kind)
    if status:
        logs = logs.filter(status=status)
    if recipient:
        logs = logs.filter(recipient__icontains=recipient)
    if date_from is not None:
        logs = logs.filter(created_at__gte=date_from)
    if date_to is not None:
        logs = logs.filter(created_at__lt=date_to)
    return logs


def custom_page_list(*, org: Organization) -> QuerySet[CustomPage]:
    """The organization's custom pages in the order of the navigation rail."""
    return CustomPage.objects.for_org(org).order_by("position", "id")


def custom_page_rail(*, org: Organization) -> list[dict]:
    """What the rail needs of each custom page (one query per page shown): id, title, icon."""
    return list(custom_page_list(org=org).values("id", "title", "icon"))
