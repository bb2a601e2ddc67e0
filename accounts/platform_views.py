"""The platform pages, for staff (super admins) only: stats with charts, organizations (search, create with the first
admin's invitation, suspend and reactivate, change plan, delete confirmed by the name, view as its admin, its members
and the reset of their two-step sign-in) and plans. Everyone else gets the not-found page. Reads through
accounts.platform and accounts.selectors, writes through the same services as the super-admin API."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import impersonation, platform, selectors, services, two_factor
from accounts.models import Organization, Plan
from accounts.plans import plan_for, plans_attach
from accounts.platform_forms import OrganizationCreateForm, OrganizationDeleteForm, PlanChangeForm, PlanForm
from accounts.settings_views.common import not_found, page_of
from whatsapp_hub.errors import ServiceError
from whatsapp_hub.forms import show_service_error


def staff_required(view):
    """Signed in (else the sign-in page) and platform staff (else the not-found page: the area is not shown)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not (request.user.is_active and request.user.is_staff):
            return not_found(request)
        return view(request, *args, **kwargs)

    return wrapper


def _organization(organization_id: int) -> Organization | None:
    organizations = platform.organizations_with_usage().filter(pk=organization_id)
    organization = organizations.first()
    if organization is not None:
        plans_attach([organization])
    return organization


@staff_required
def stats(request):
    figures = platform.platform_stats()
    chart = {
        "labels": [month["month"].isoformat() for month in figures["months"]],
        "signups": [month["signups"] for month in figures["months"]],
        "messages": [month["messages"] for month in figures["months"]],
        "plans": [plan_for(code).name for code in figures["organizations_by_plan"]],
        "plan_counts": list(figures["organizations_by_plan"].values()),
    }
    context = {"section": "stats", "stats": figures, "chart": chart}
    return render(request, "accounts/platform/stats.html", context)


@staff_required
def organizations(request):
    """The organizations (search by name or slug, filter by status), and the form creating one (POST)."""
    form = OrganizationCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            organization, invitation = services.organization_create_with_admin(actor=request.user, **form.cleaned_data)
        except ServiceError as refused:
            show_service_error(form, refused)
        else:
            messages.success(
                request,
                _("Organization %(name)s created; %(email)s is invited as its admin.")
                % {"name": organization.name, "email": invitation.email},
            )
            return redirect("platform-organization", organization.pk)
    query = request.GET.get("q", "").strip()[:200]
    status = request.GET.get("status", "")
    rows = platform.organizations_with_usage().order_by("name", "id")
    if query:
        rows = rows.filter(Q(name__icontains=query) | Q(slug__icontains=query) | Q(owner_email__icontains=query))
    if status in Organization.Status.values:
        rows = rows.filter(status=status)
    page = page_of(request, rows)
    plans_attach(page.object_list)
    context = {
        "section": "organizations",
        "form": form,
        "page": page,
        "query": query,
        "status": status,
        "statuses": Organization.Status.choices,
    }
    return render(request, "accounts/platform/organizations.html", context)


@staff_required
def organization_detail(request, organization_id: int):
    organization = _organization(organization_id)
    if organization is None:
        return not_found(request)
    context = {
        "section": "organizations",
        "organization": organization,
        "members": page_of(request, selectors.team_members(org=organization)),
        "plan_form": PlanChangeForm(current=organization.plan),
        "impersonation_minutes": int(impersonation.IMPERSONATION_TTL.total_seconds() // 60),
    }
    return render(request, "accounts/platform/organization.html", context)


@staff_required
@require_POST
def organization_status(request, organization_id: int):
    organization = Organization.objects.filter(pk=organization_id).first()
    status = request.POST.get("status")
    if organization is None:
        return not_found(request)
    if status in Organization.Status.values:
        services.organization_set_status(organization=organization, status=status, actor=request.user)
        text = _("%(name)s is suspended.") if status == "suspended" else _("%(name)s is active again.")
        messages.success(request, text % {"name": organization.name})
    return redirect("platform-organization", organization.pk)


@staff_required
@require_POST
def organization_plan(request, organization_id: int):
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        return not_found(request)
    form = PlanChangeForm(request.POST, current=organization.plan)
    if form.is_valid():
        try:
            services.organization_platform_update(
                organization=organization, actor=request.user, name=None, **form.cleaned_data
            )
        except ServiceError as refused:
            messages.error(request, refused.detail)
        else:
            messages.success(request, _("Plan changed."))
    else:
        messages.error(request, _("Choose one of the active plans."))
    return redirect("platform-organization", organization.pk)


@staff_required
def organization_delete(request, organization_id: int):
    """A confirmation page where the organization's name is typed (GET), then the deletion (POST)."""
    organization = _organization(organization_id)
    if organization is None:
        return not_found(request)
    form = OrganizationDeleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            platform.organization_delete_confirmed(
                organization=organization, actor=request.user, confirm_name=form.cleaned_data["confirm_name"]
            )
        except ServiceError as refused:
            show_service_error(form, refused)
        else:
            messages.success(request, _("Organization %(name)s deleted.") % {"name": organization.name})
            return redirect("platform-organizations")
    context = {"section": "organizations", "organization": organization, "form": form}
    return render(request, "accounts/platform/organization_delete.html", context)


@staff_required
def member_two_factor_reset(request, organization_id: int, user_id: int):
    """A confirmation page (GET), then the reset of a member's two-step sign-in (POST), for someone who lost both
    their authenticator app and their recovery codes."""
    organization = Organization.objects.filter(pk=organization_id).first()
    membership = selectors.member(org=organization, user_id=user_id) if organization is not None else None
    if membership is None:
        return not_found(request)
    error = None
    if request.method == "POST":
        try:
            two_factor.two_factor_reset(user_id=user_id, actor=request.user)
        except ServiceError as refused:
            error = refused.detail
        else:
            name = membership.user.name or membership.user.email
            messages.success(
                request,
                _("Two-step sign-in of %(name)s is off: they were signed out and told by e-mail.") % {"name": name},
            )
            return redirect("platform-organization", organization.pk)
    context = {"section": "organizations", "organization": organization, "member": membership, "error": error}
    return render(request, "accounts/platform/member_two_factor_reset.html", context)


@staff_required
@require_POST
def impersonation_start(request, organization_id: int):
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        return not_found(request)
    if not organization.is_active:
        messages.error(request, _("A suspended organization cannot be viewed: reactivate it first."))
        return redirect("platform-organization", organization.pk)
    impersonation.impersonation_start(session=request.session, actor=request.user, organization=organization)
    return redirect("home")


@require_POST
def impersonation_stop(request):
    """Open to any signed-in session (an impersonation outlives nothing else); staff go back to the organization."""
    state = impersonation.active(request.session)
    impersonation.impersonation_stop(
        session=request.session, actor=request.user if request.user.is_authenticated else None
    )
    if state is not None and request.user.is_authenticated and request.user.is_staff:
        return redirect("platform-organization", state["organization_id"])
    return redirect("home")


@staff_required
def plans(request):
    """The plans with their prices, limits and organizations, and the form creating one (POST)."""
    form = PlanForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            plan = platform.plan_create(actor=request.user, **form.service_fields())
        except ServiceError as refused:
            show_service_error(form, refused)
        else:
            messages.success(request, _("Plan %(name)s created.") % {"name": plan.name})
            return redirect("platform-plans")
    context = {"section": "plans", "form": form, "plans": platform.plans_with_subscribers()}
    return render(request, "accounts/platform/plans.html", context)


@staff_required
def plan_edit(request, code: str):
    plan = Plan.objects.filter(code=code).first()
    if plan is None:
        return not_found(request)
    form = PlanForm(request.POST or None, plan=plan)
    if request.method == "POST" and form.is_valid():
        fields = form.service_fields()
        fields.pop("code")
        try:
            platform.plan_update(plan=plan, actor=request.user, **fields)
        except ServiceError as refused:
            show_service_error(form, refused)
        else:
            messages.success(request, _("Plan %(name)s saved.") % {"name": plan.name})
            return redirect("platform-plans")
    return render(request, "accounts/platform/plan_edit.html", {"section": "plans", "plan": plan, "form": form})


urlpatterns = [
    path("platform/", stats, name="platform"),
    path("platform/organizations/", organizations, name="platform-organizations"),
    path("platform/organizations/<id:organization_id>/", organization_detail, name="platform-organization"),
    path(
        "platform/organizations/<id:organization_id>/status/", organization_status, name="platform-organization-status"
    ),
    path("platform/organizations/<id:organization_id>/plan/", organization_plan, name="platform-organization-plan"),
    path(
        "platform/organizations/<id:organization_id>/delete/", organization_delete, name="platform-organization-delete"
    ),
    path(
        "platform/organizations/<id:organization_id>/impersonate/",
        impersonation_start,
        name="platform-impersonation-start",
    ),
    path(
        "platform/organizations/<id:organization_id>/members/<id:user_id>/two-step/reset/",
        member_two_factor_reset,
        name="platform-member-two-factor-reset",
    ),
    path("platform/impersonation/stop/", impersonation_stop, name="platform-impersonation-stop"),
    path("platform/plans/", plans, name="platform-plans"),
    path("platform/plans/<slug:code>/", plan_edit, name="platform-plan-edit"),
]
