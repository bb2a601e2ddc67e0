"""Account > Security: the signed-in person's two-step sign-in (accounts.two_factor): set it up with an authenticator
app (QR code, then a code), the recovery codes shown once, new recovery codes, turning it off, and the browsers
they trust. Writes go through accounts.two_factor, as the API's (auth/2fa/...)."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import sessions, two_factor
from accounts.forms import TwoFactorCodeForm, TwoFactorProofForm
from accounts.settings_views.common import not_found
from accounts.web import member_required
from whatsapp_hub.errors import ServiceError


def _page(request, *, status: int = 200, **context):
    user = request.user
    enabled = two_factor.is_enabled(user=user)
    devices = [
        {"device": device, "parts": sessions.device_parts(device.user_agent)}
        for device in two_factor.trusted_devices(user=user)
    ]
    context = {
        "enabled": enabled,
        "enrolment": None if enabled else two_factor.enrolment_pending(user=user),
        "recovery_codes_left": two_factor.recovery_codes_left(user=user) if enabled else 0,
        "devices": devices,
        "confirm_form": TwoFactorCodeForm(),
        "regenerate_form": TwoFactorProofForm(prefix="regenerate"),
        "disable_form": TwoFactorProofForm(prefix="disable"),
        "organization_requires": two_factor.enrolment_required(user=user, organization=request.org, role=request.role),
        **context,
    }
    return render(request, "accounts/security.html", context, status=status)


@member_required
def security(request):
    return _page(request)


@require_POST
@member_required
def enrol(request):
    """Start (or restart) the set-up: a new secret and its QR code on the page."""
    try:
        two_factor.two_factor_enrolment_start(user=request.user)
    except ServiceError as refused:
        messages.error(request, refused.detail)
    return redirect("account-security")


@require_POST
@member_required
def enrol_confirm(request):
    form = TwoFactorCodeForm(request.POST)
    if form.is_valid():
        try:
            codes = two_factor.two_factor_enrolment_confirm(user=request.user, code=form.cleaned_data["code"])
        except ServiceError as refused:
            form.add_refusal(refused)
        else:
            messages.success(request, _("Two-step sign-in is on."))
            return _page(request, recovery_codes=codes)
    return _page(request, confirm_form=form, status=400)


@require_POST
@member_required
def recovery_codes(request):
    form = TwoFactorProofForm(request.POST, prefix="regenerate")
    if form.is_valid():
        try:
            codes = two_factor.two_factor_recovery_codes_regenerate(user=request.user, **form.cleaned_data)
        except ServiceError as refused:
            form.add_refusal(refused)
        else:
            messages.success(request, _("New recovery codes are ready: the old ones no longer work."))
            return _page(request, recovery_codes=codes)
    return _page(request, regenerate_form=form, status=400)


@require_POST
@member_required
def disable(request):
    form = TwoFactorProofForm(request.POST, prefix="disable")
    if form.is_valid():
        try:
            two_factor.two_factor_disable(user=request.user, **form.cleaned_data)
        except ServiceError as refused:
            form.add_refusal(refused)
        else:
            messages.success(request, _("Two-step sign-in is off."))
            return redirect("account-security")
    return _page(request, disable_form=form, status=400)


@require_POST
@member_required
def device_revoke(request, device_id: int):
    try:
        two_factor.trusted_device_revoke(user=request.user, device_id=device_id)
    except ServiceError:
        return not_found(request)
    messages.success(request, _("The browser is no longer trusted: it will ask for a code at its next sign-in."))
    return redirect("account-security")


urlpatterns = [
    path("account/security/", security, name="account-security"),
    path("account/security/set-up/", enrol, name="account-security-enrol"),
    path("account/security/confirm/", enrol_confirm, name="account-security-confirm"),
    path("account/security/recovery-codes/", recovery_codes, name="account-security-recovery-codes"),
    path("account/security/turn-off/", disable, name="account-security-disable"),
    path("account/security/trusted/<id:device_id>/revoke/", device_revoke, name="account-security-device-revoke"),
]
