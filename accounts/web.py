"""What every page of the web app needs: the signed-in member and their organization, or a clear refusal.

Pages authenticate with the browser's Django session; the organization is the one the session chose with the
organization switcher (accounts.selectors.session_membership). Views call `member_required` and then read
`request.org`, `request.role` and `request.membership`, exactly as API views do.
"""

from functools import wraps
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import selectors, two_factor
from accounts.models import Role

DEFAULT_TIME_ZONE = "UTC"


def organization_time_zone(organization) -> ZoneInfo:
    """The organization's time zone (settings "timezone", validated when saved), else UTC."""
    name = (organization.settings or {}).get("timezone") or DEFAULT_TIME_ZONE
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo(DEFAULT_TIME_ZONE)


def permission_denied(request, *, reason: str, status: int = 403):
    """The permission-denied page: why, and who can help."""
    return render(request, "permission_denied.html", {"reason": reason}, status=status)


def member_required(view=None, *, roles: frozenset[str] | None = None, reason: str | None = None):
    """Decorates a page: signed in (else the sign-in page, coming back here after), in an organization (else the
    page that creates one), a member who can act in the session's organization (else the permission-denied page
    saying why), and one of `roles` when given (else the permission-denied page with `reason`, a text with
    %(org)s, by default that the page is for admins). Sets request.org, request.role, request.membership and
    activates the organization's time zone while the view runs."""

    def decorate(view_func):
        @wraps(view_func)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = selectors.session_membership(user=request.user, session=request.session)
            if membership is None:  # in no organization at all: their first step is to create one
                return redirect("organization-create")
            problem = selectors.membership_problem(membership)
            if problem:
                return permission_denied(request, reason=problem)
            request.membership, request.org, request.role = membership, membership.organization, membership.role
            if roles is not None and membership.role not in roles:
                text = reason or _("This page is for admins of %(org)s. Ask one of them for access.")
                return permission_denied(request, reason=text % {"org": membership.organization.name})
            if roles == ADMIN_ONLY and enrolment_required(request):
                messages.warning(
                    request,
                    _("%(org)s requires admins to use two-step sign-in: turn it on first.")
                    % {"org": membership.organization.name},
                )
                return redirect("account-security")
            # For this request only: an activated zone would outlive it in the thread (the next request, a test).
            with timezone.override(organization_time_zone(membership.organization)):
                return view_func(request, *args, **kwargs)

        return wrapper

    return decorate(view) if view is not None else decorate


def enrolment_required(request) -> bool:
    """Whether the signed-in admin must turn two-step sign-in on before using admin pages (their organization's
    policy: accounts.two_factor). Call after member_required set request.role."""
    return two_factor.enrolment_required(user=request.user, organization=request.org, role=request.role)


ADMIN_ONLY = frozenset({Role.ADMIN})
admin_required = member_required(roles=ADMIN_ONLY)
