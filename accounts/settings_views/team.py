"""Settings > Team: the organization's members, their roles, deactivation and reactivation, the reset of their
two-step sign-in, seats against the plan."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import selectors, services, two_factor
from accounts.forms import ROLE_CHOICES, RoleForm
from accounts.models import Role
from accounts.settings_views.common import not_found, page_of
from accounts.web import admin_required
from whatsapp_hub.errors import ServiceError


def _name(membership) -> str:
    return membership.user.name or membership.user.email


def _team_page(request, *, refused: dict | None = None):
    """The members list; `refused` ({"user_id", "message"}) shows why an action on one member was refused, in its
    row."""
    context = {
        "section": "team",
        "members": page_of(request, selectors.team_members(org=request.org)),
        "seats_used": selectors.seats_used(org=request.org),
        "seat_limit": request.org.user_limit,
        "role_choices": ROLE_CHOICES,
        "refused": refused,
    }
    return render(request, "accounts/settings/team.html", context)


def _back_to_team(request):
    """The members list again, at the page the action was taken from."""
    page = request.GET.get("page", "")
    return redirect(reverse("settings-team") + (f"?{urlencode({'page': page})}" if page.isdigit() else ""))


def _refusal(request, user_id: int, refused: ServiceError):
    if refused.status_code == 404:
        return not_found(request)
    return _team_page(request, refused={"user_id": user_id, "message": refused.detail})


@admin_required
def settings_home(request):
    return redirect("settings-team")


@admin_required
def team(request):
    return _team_page(request)


@admin_required
@require_POST
def member_role(request, user_id: int):
    if selectors.member(org=request.org, user_id=user_id) is None:
        return not_found(request)
    form = RoleForm(request.POST)
    if not form.is_valid():
        return _team_page(request, refused={"user_id": user_id, "message": form.errors["role"][0]})
    role = form.cleaned_data["role"]
    try:
        membership = services.member_set_role(organization=request.org, user_id=user_id, role=role, actor=request.user)
    except ServiceError as refused:
        return _refusal(request, user_id, refused)
    if membership.user_id == request.user.pk and role != Role.ADMIN:
        messages.success(request, _("You are no longer an admin of %(org)s.") % {"org": request.org.name})
        return redirect("home")
    messages.success(
        request, _("%(name)s is now %(role)s.") % {"name": _name(membership), "role": dict(ROLE_CHOICES)[role]}
    )
    return _back_to_team(request)


def _confirmed_member_action(request, user_id: int, *, act, success, template: str, done: str):
    """A confirmation page about a member (GET), then `act()` (POST): on success the `success(membership)` message and
    a redirect to `done`; a refusal shown on the page (404 for a member of no concern)."""
    membership = selectors.member(org=request.org, user_id=user_id)
    if membership is None:
        return not_found(request)
    error = None
    if request.method == "POST":
        try:
            act()
        except ServiceError as refused:
            if refused.status_code == 404:
                return not_found(request)
            error = refused.detail
        else:
            messages.success(request, success(membership))
            return redirect(done)
    return render(request, template, {"section": "team", "member": membership, "error": error})


@admin_required
def member_deactivate(request, user_id: int):
    """A confirmation page (GET), then the deactivation (POST)."""
    return _confirmed_member_action(
        request,
        user_id,
        act=lambda: services.member_deactivate(organization=request.org, user_id=user_id, actor=request.user),
        success=lambda membership: (
            _("%(name)s is deactivated and can no longer work in %(org)s.")
            % {"name": _name(membership), "org": request.org.name}
        ),
        template="accounts/settings/member_deactivate.html",
        done="home" if user_id == request.user.pk else "settings-team",
    )


@admin_required
def member_two_factor_reset(request, user_id: int):
    """A confirmation page (GET), then the reset of the member's two-step sign-in (POST), for someone who lost both
    their authenticator app and their recovery codes."""
    return _confirmed_member_action(
        request,
        user_id,
        act=lambda: two_factor.two_factor_reset(organization=request.org, user_id=user_id, actor=request.user),
        success=lambda membership: (
            _("Two-step sign-in of %(name)s is off: they were signed out and told by e-mail.")
            % {"name": _name(membership)}
        ),
        template="accounts/settings/member_two_factor_reset.html",
        done="settings-team",
    )


@admin_required
@require_POST
def member_activate(request, user_id: int):
    try:
        membership = services.member_activate(organization=request.org, user_id=user_id, actor=request.user)
    except ServiceError as refused:
        return _refusal(request, user_id, refused)
    messages.success(request, _("%(name)s is active again.") % {"name": _name(membership)})
    return _back_to_team(request)


urlpatterns = [
    path("settings/", settings_home, name="settings"),
    path("settings/team/", team, name="settings-team"),
    path("settings/team/<id:user_id>/role/", member_role, name="settings-member-role"),
    path("settings/team/<id:user_id>/deactivate/", member_deactivate, name="settings-member-deactivate"),
    path("settings/team/<id:user_id>/activate/", member_activate, name="settings-member-activate"),
    path(
        "settings/team/<id:user_id>/two-step/reset/",
        member_two_factor_reset,
        name="settings-member-two-factor-reset",
    ),
]
