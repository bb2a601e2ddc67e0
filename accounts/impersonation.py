"""Read-only impersonation: platform staff view the web app as an organization's admin, for support.

Started from the platform's organizations page, it lives in the staff member's browser session (never in a token):
the session then acts in that organization with the admin role (accounts.selectors.session_membership), every page
shows a banner with "stop", and nothing can be changed:
- every unsafe method (POST, PUT, PATCH, DELETE) of a page or of the API is refused with 403 by
  ImpersonationMiddleware, whoever the credential (but the stop and sign-out forms);
- the live inbox socket receives, but its writes (sending, marking read) are refused (Principal.read_only).
It ends on "stop", on signing out, or IMPERSONATION_TTL after it started. Start and end are audited in the
organization's audit log and in the platform's.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.http import JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from accounts.models import Organization, User

SESSION_KEY = "impersonation"
IMPERSONATION_TTL = timedelta(minutes=30)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
READ_ONLY_DETAIL = gettext_noop(
    "Read-only: you are viewing this organization as its admin (impersonation). Stop impersonating to make changes."
)


def _audit(*, organization: Organization, actor: User, action: str, data: dict) -> None:
    from accounts import services  # services imports selectors, which read the session through this module

    services.audit_log_write(organization=organization, actor=actor, action=action, target=organization, data=data)
    services.platform_audit_write(actor=actor, action=action, organization=organization, data=data)


def active(session) -> dict | None:
    """The session's impersonation while it lasts: {organization_id, started_at, expires_at (ISO strings)}."""
    state = session.get(SESSION_KEY) if session is not None else None
    if not isinstance(state, dict):
        return None
    try:
        expires_at = datetime.fromisoformat(state["expires_at"])
    except (KeyError, TypeError, ValueError):
        return None
    return state if expires_at > timezone.now() else None


def organization_for(*, user, session) -> Organization | None:
    """The organization a staff member's session impersonates (active), else None."""
    state = active(session)
    if state is None or not getattr(user, "is_staff", False) or not user.is_active:
        return None
    return Organization.objects.filter(pk=state["organization_id"]).first()


@transaction.atomic
def impersonation_start(*, session, actor: User, organization: Organization) -> dict:
    """Start viewing `organization` as its admin in this browser session (a running impersonation ends first).
    Staff only (the caller checks); audited as impersonation.start."""
    if active(session) is not None:
        impersonation_stop(session=session, actor=actor)
    now = timezone.now()
    state = {
        "organization_id": organization.pk,
        "organization_name": organization.name,
        "started_at": now.isoformat(),
        "expires_at": (now + IMPERSONATION_TTL).isoformat(),
    }
    _audit(
        organization=organization,
        actor=actor,
        action="impersonation.start",
        data={"read_only": True, "expires_at": state["expires_at"]},
    )
    session[SESSION_KEY] = state
    return state


@transaction.atomic
def impersonation_stop(*, session, actor: User | None, reason: str = "stopped") -> None:
    """End the session's impersonation (`reason`: stopped, expired, signed_out); audited as impersonation.stop.
    Nothing to do without one."""
    state = session.pop(SESSION_KEY, None) if session is not None else None
    if not isinstance(state, dict):
        return
    organization = Organization.objects.filter(pk=state.get("organization_id")).first()
    if organization is not None:
        _audit(
            organization=organization,
            actor=actor if isinstance(actor, User) else None,
            action="impersonation.stop",
            data={"reason": reason, "started_at": state.get("started_at")},
        )


class ImpersonationMiddleware:
    """After AuthenticationMiddleware. While the session impersonates: `request.impersonation` is set (the banner),
    unsafe methods are refused (403) but the stop and sign-out forms, and an expired impersonation ends (audited)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        request.impersonation = None
        if session is not None and SESSION_KEY in session:
            user = request.user
            state = active(session)
            if state is None or not (user.is_authenticated and user.is_staff):
                impersonation_stop(session=session, actor=user if user.is_authenticated else None, reason="expired")
            else:
                request.impersonation = state
                if request.method == "POST" and request.path == reverse("sign-out"):
                    impersonation_stop(session=session, actor=user, reason="signed_out")
                elif request.method not in SAFE_METHODS and request.path not in _allowed_paths():
                    return _refuse(request)
        return self.get_response(request)


def _allowed_paths() -> set[str]:
    return {reverse("platform-impersonation-stop"), reverse("sign-out"), reverse("language")}


def _refuse(request):
    if request.path.startswith("/api/") or request.headers.get("accept", "").startswith("application/json"):
        return JsonResponse({"detail": READ_ONLY_DETAIL, "code": "impersonation_read_only"}, status=403)
    from accounts.web import permission_denied

    return permission_denied(request, reason=gettext(READ_ONLY_DETAIL))
