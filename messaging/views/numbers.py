"""Settings, WhatsApp numbers (admins): the list, connecting a Cloud API, WAHA or sandbox number, a number's page
(edit, secrets replaced, assignment, deletion) and a WAHA number's session page, whose module
(static/js/numbers-session.js) runs the session through the numbers API. Every write goes through
messaging.services.numbers, as the API's do; their refusals are shown next to the field they name."""

from dataclasses import dataclass

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path, re_path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts import selectors as account_selectors
from accounts.settings_views.common import not_found
from accounts.web import admin_required
from messaging import number_forms
from messaging.models import Provider, WhatsAppNumber
from messaging.selectors import numbers as selectors
from messaging.services import numbers as services
from whatsapp_hub.encryption import mask
from whatsapp_hub.errors import ServiceError
from whatsapp_hub.forms import show_service_error

PROVIDER_LABELS = {
    Provider.CLOUD: gettext_lazy("Cloud API"),
    Provider.WAHA: gettext_lazy("WAHA"),
    Provider.SANDBOX: gettext_lazy("Sandbox"),
}
STATUS_LABELS = {
    WhatsAppNumber.Status.ACTIVE: gettext_lazy("Active"),
    WhatsAppNumber.Status.PENDING: gettext_lazy("Pending"),
    WhatsAppNumber.Status.DISCONNECTED: gettext_lazy("Disconnected"),
}
SESSION_LABELS = {
    WhatsAppNumber.SessionStatus.STOPPED: gettext_lazy("Stopped"),
    WhatsAppNumber.SessionStatus.STARTING: gettext_lazy("Starting"),
    WhatsAppNumber.SessionStatus.SCAN_QR_CODE: gettext_lazy("Waiting for the QR code to be scanned"),
    WhatsAppNumber.SessionStatus.WORKING: gettext_lazy("Connected"),
    WhatsAppNumber.SessionStatus.FAILED: gettext_lazy("Failed"),
}


@dataclass(frozen=True)
class NumberView:
    """A number with its labels in the reader's language."""

    number: WhatsAppNumber
    provider: str
    status: str
    session: str

    @classmethod
    def of(cls, number: WhatsAppNumber) -> "NumberView":
        return cls(
            number=number,
            provider=PROVIDER_LABELS[number.provider],
            status=STATUS_LABELS.get(number.status, number.status),
            session=SESSION_LABELS.get(number.session_status, ""),
        )


def _numbers(request):
    return selectors.number_list(org=request.org).select_related("assigned_user", "assigned_team")


def _number(request, number_id: int) -> WhatsAppNumber | None:
    """The organization's live number, else None (another organization's as well)."""
    return _numbers(request).filter(pk=number_id).first()


def _page(request, template: str, context: dict | None = None):
    """A page in the settings frame, under its "WhatsApp numbers" tab."""
    return render(request, f"messaging/{template}", {"section": "numbers", **(context or {})})


@admin_required
def number_list(request):
    numbers = [NumberView.of(number) for number in _numbers(request)]
    return _page(request, "numbers.html", {"numbers": numbers})


@admin_required
def number_new(request):
    return _page(request, "numbers_new.html")


@admin_required
def number_create(request, provider: str):
    form = number_forms.CREATE_FORMS[provider](request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            number = services.number_create(
                organization=request.org, actor=request.user, provider=provider, **form.cleaned_data
            )
        except ServiceError as error:
            show_service_error(form, error)
        else:
            if provider == Provider.CLOUD:
                # The only time the verify token is shown: Meta's dashboard needs it once; it can be replaced later.
                context = {
                    "number": number,
                    "webhook_url": selectors.number_webhook_url(number),
                    "verify_token": number.verify_token,
                }
                return _page(request, "numbers_connected.html", context)
            if provider == Provider.WAHA:
                messages.success(
                    request,
                    _("%(name)s was added: start its session and link the phone.") % {"name": number.display_name},
                )
                return redirect("settings-number-session", number_id=number.pk)
            messages.success(request, _("%(name)s was added.") % {"name": number.display_name})
            return redirect("settings-number-detail", number_id=number.pk)
    return _page(request, "numbers_create.html", {"form": form, "provider": provider})


def _detail(request, number: WhatsAppNumber, *, edit_form=None, assign_form=None, delete_form=None):
    members = account_selectors.team_members(org=request.org)
    teams = account_selectors.teams(org=request.org)
    context = {
        "view": NumberView.of(number),
        "number": number,
        "webhook_url": selectors.number_webhook_url(number),
        "masked_verify_token": mask(number.verify_token),
        "edit_form": edit_form or number_forms.NumberEditForm(number=number),
        "assign_form": assign_form
        or number_forms.AssignForm(
            members=members,
            teams=teams,
            initial={"user_id": number.assigned_user_id, "team_id": number.assigned_team_id},
        ),
        "delete_form": delete_form or number_forms.DeleteForm(number=number),
    }
    return _page(request, "numbers_detail.html", context)


@admin_required
def number_detail(request, number_id: int):
    """The number's page; a POST saves its settings (number_update)."""
    number = _number(request, number_id)
    if number is None:
        return not_found(request)
    if request.method != "POST":
        return _detail(request, number)
    form = number_forms.NumberEditForm(request.POST, number=number)
    if form.is_valid():
        try:
            services.number_update(number=number, actor=request.user, **form.changes())
        except ServiceError as error:
            show_service_error(form, error)
        else:
            messages.success(request, _("Saved."))
            return redirect("settings-number-detail", number_id=number.pk)
    return _detail(request, number, edit_form=form)


@require_POST
@admin_required
def number_assign(request, number_id: int):
    number = _number(request, number_id)
    if number is None:
        return not_found(request)
    form = number_forms.AssignForm(
        request.POST,
        members=account_selectors.team_members(org=request.org),
        teams=account_selectors.teams(org=request.org),
    )
    if form.is_valid():
        try:
            services.number_assign(number=number, actor=request.user, **form.cleaned_data)
        except ServiceError as error:
            show_service_error(form, error)
        else:
            messages.success(request, _("Assignment saved."))
            return redirect("settings-number-detail", number_id=number.pk)
    return _detail(request, number, assign_form=form)


@require_POST
@admin_required
def number_delete(request, number_id: int):
    number = _number(request, number_id)
    if number is None:
        return not_found(request)
    form = number_forms.DeleteForm(request.POST, number=number)
    if form.is_valid():
        try:
            services.number_delete(number=number, actor=request.user)
        except ServiceError as error:
            show_service_error(form, error)
        else:
            messages.success(request, _("%(name)s was deleted.") % {"name": number.display_name})
            return redirect("settings-numbers")
    return _detail(request, number, delete_form=form)


@admin_required
def number_session(request, number_id: int):
    """A WAHA number's session: start it, scan the QR or type a pairing code, stop or log out."""
    number = _number(request, number_id)
    if number is None or number.provider != Provider.WAHA:
        return not_found(request)
    labels = {status: str(label) for status, label in SESSION_LABELS.items()}
    return _page(request, "numbers_session.html", {"view": NumberView.of(number), "labels": labels})


urlpatterns = [
    path("settings/numbers/", number_list, name="settings-numbers"),
    path("settings/numbers/new/", number_new, name="settings-number-new"),
    # One route per provider, the provider a fixed argument (no row is named): {% url ... provider="cloud" %}.
    *(
        re_path(
            rf"^settings/numbers/new/{provider}/$", number_create, {"provider": provider}, name="settings-number-create"
        )
        for provider in number_forms.CREATE_FORMS
    ),
    path("settings/numbers/<id:number_id>/", number_detail, name="settings-number-detail"),
    path("settings/numbers/<id:number_id>/assign/", number_assign, name="settings-number-assign"),
    path("settings/numbers/<id:number_id>/delete/", number_delete, name="settings-number-delete"),
    path("settings/numbers/<id:number_id>/session/", number_session, name="settings-number-session"),
]
