"""Templates > WhatsApp Flows: the list (status badges and Meta's last health alert, following Meta's `flows` webhook
live), a new flow, one flow's page (its Flow JSON edited in a textarea with Meta's validation errors next to it,
publish, deprecate, delete a draft, the preview link, what Meta's restriction means) and its responses (a table, and a
CSV download). Every member reads them (agents send published flows from the inbox);
marketing and admins change them. Every write goes through messaging.services.flows, as the API's do
(messaging/api/flows.py)."""

import json

from django import forms
from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from accounts.models import Role
from accounts.settings_views.common import not_found, page_of
from accounts.web import member_required, permission_denied
from messaging.api.dashboard import csv_response
from messaging.models import WhatsAppFlow
from messaging.selectors import flows as selectors
from messaging.selectors.access import request_visible_numbers
from messaging.selectors.numbers import number_list
from messaging.services import flows as services
from whatsapp_hub.errors import ServiceError
from whatsapp_hub.forms import show_service_error

MANAGERS = frozenset({Role.ADMIN, Role.MARKETING})
RESPONSES_SHOWN = 50
STATUS_BADGES = {
    WhatsAppFlow.Status.DRAFT: "",
    WhatsAppFlow.Status.PUBLISHED: "badge-success",
    WhatsAppFlow.Status.DEPRECATED: "badge-warning",
    WhatsAppFlow.Status.BLOCKED: "badge-danger",
    WhatsAppFlow.Status.THROTTLED: "badge-warning",
}
CATEGORY_LABELS = {
    WhatsAppFlow.Category.SIGN_UP: gettext_lazy("Sign up"),
    WhatsAppFlow.Category.SIGN_IN: gettext_lazy("Sign in"),
    WhatsAppFlow.Category.APPOINTMENT_BOOKING: gettext_lazy("Appointment booking"),
    WhatsAppFlow.Category.LEAD_GENERATION: gettext_lazy("Lead generation"),
    WhatsAppFlow.Category.CONTACT_US: gettext_lazy("Contact us"),
    WhatsAppFlow.Category.CUSTOMER_SUPPORT: gettext_lazy("Customer support"),
    WhatsAppFlow.Category.SURVEY: gettext_lazy("Survey"),
    WhatsAppFlow.Category.OTHER: gettext_lazy("Other"),
}
STATUS_LABELS = {
    WhatsAppFlow.Status.DRAFT: gettext_lazy("Draft"),
    WhatsAppFlow.Status.PUBLISHED: gettext_lazy("Published"),
    WhatsAppFlow.Status.DEPRECATED: gettext_lazy("Deprecated"),
    WhatsAppFlow.Status.BLOCKED: gettext_lazy("Blocked"),
    WhatsAppFlow.Status.THROTTLED: gettext_lazy("Throttled"),
}
# What Meta's restriction of a flow means (Flow health and monitoring), on the flow's page.
STATUS_NOTES = {
    WhatsAppFlow.Status.BLOCKED: gettext_lazy(
        "Meta blocked this flow: it cannot be sent, and customers cannot open the ones they received. Meta unblocks "
        "it once its endpoint works again (see the last alert)."
    ),
    WhatsAppFlow.Status.THROTTLED: gettext_lazy(
        "Meta throttled this flow: at most 10 can be sent an hour. Meta lifts the limit once its endpoint works "
        "again (see the last alert)."
    ),
}
# Meta's health alerts of a flow (the `flows` webhook), as the pages name them.
ALERT_LABELS = {
    "ENDPOINT_ERROR_RATE": gettext_lazy("Endpoint error rate"),
    "CLIENT_ERROR_RATE": gettext_lazy("Error rate on customers' phones"),
    "ENDPOINT_LATENCY": gettext_lazy("Endpoint latency"),
    "ENDPOINT_AVAILABILITY": gettext_lazy("Endpoint availability"),
    "FLOW_VERSION_EXPIRY_WARNING": gettext_lazy("Flow JSON version about to expire"),
}
# A Flow JSON to start from: one screen asking a name and an email.
STARTER_JSON = {
    "version": "7.2",
    "screens": [
        {
            "id": "FORM",
            "title": "Sign up",
            "terminal": True,
            "layout": {
                "type": "SingleColumnLayout",
                "children": [
                    {"type": "TextInput", "name": "name", "label": "Name", "required": True},
                    {"type": "TextInput", "name": "email", "label": "Email", "input-type": "email"},
                    {
                        "type": "Footer",
                        "label": "Send",
                        "on-click-action": {
                            "name": "complete",
                            "payload": {"name": "${form.name}", "email": "${form.email}"},
                        },
                    },
                ],
            },
        }
    ],
}


def _refused(request):
    return permission_denied(
        request, reason=_("Changing WhatsApp Flows is for marketing and admins of %(org)s.") % {"org": request.org.name}
    )


class FlowForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=200,
        help_text=gettext_lazy("Unique in the WhatsApp Business Account; customers do not see it."),
        widget=forms.TextInput(attrs={"dir": "auto", "autocomplete": "off"}),
    )
    categories = forms.MultipleChoiceField(
        label=gettext_lazy("Categories"),
        choices=list(CATEGORY_LABELS.items()),
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("What the flow is for, as Meta classifies it."),
    )
    number_id = forms.TypedChoiceField(
        label=gettext_lazy("WhatsApp number"),
        coerce=int,
        help_text=gettext_lazy("The flow belongs to this number's WhatsApp Business Account."),
    )
    flow_json = forms.CharField(
        label=gettext_lazy("Flow JSON"),
        required=False,
        strip=False,
        help_text=gettext_lazy("The screens and fields of the form, in Meta's Flow JSON. Meta checks it on save."),
        widget=forms.Textarea(attrs={"rows": 22, "dir": "ltr", "spellcheck": "false", "class": "code-input"}),
    )

    def __init__(self, data=None, *, numbers=(), flow: WhatsAppFlow | None = None):
        initial = {"flow_json": json.dumps(STARTER_JSON, indent=2), "categories": ["SIGN_UP"]}
        if flow is not None:
            initial = {
                "name": flow.name,
                "categories": flow.categories,
                "flow_json": json.dumps(flow.flow_json, indent=2, ensure_ascii=False) if flow.flow_json else "",
            }
        super().__init__(data, initial=initial)
        if flow is not None:
            del self.fields["number_id"]
        else:
            self.fields["number_id"].choices = [(n.pk, f"{n.display_name} {n.phone_number}".strip()) for n in numbers]
            if len(numbers) == 1:
                self.fields["number_id"].widget = forms.HiddenInput()
                self.fields["number_id"].initial = numbers[0].pk


def _figures(alert: dict) -> str:
    """The alert's figures in the reader's words ('' when Meta gave none)."""
    event, values = alert.get("event"), {"threshold": number_format(alert.get("threshold", "?"))}
    if event in ("ENDPOINT_ERROR_RATE", "CLIENT_ERROR_RATE") and "error_rate" in alert:
        values["value"] = number_format(alert["error_rate"])
        return _("%(value)s%% of requests failed (threshold %(threshold)s%%)") % values
    if event == "ENDPOINT_LATENCY" and "p90_latency" in alert:
        values["value"] = number_format(alert["p90_latency"])
        return _("90%% of requests answered within %(value)s ms (threshold %(threshold)s ms)") % values
    if event == "ENDPOINT_AVAILABILITY" and "availability" in alert:
        values["value"] = number_format(alert["availability"])
        return _("Available %(value)s%% of the time (threshold %(threshold)s%%)") % values
    return ""


def _show(flow: WhatsAppFlow) -> WhatsAppFlow:
    """The flow with what its pages show of its status and of Meta's last alert."""
    flow.badge = STATUS_BADGES.get(flow.status, "")
    flow.status_label = STATUS_LABELS.get(flow.status, flow.status)
    flow.status_note = STATUS_NOTES.get(flow.status, "")
    alert = flow.last_alert or {}
    flow.alert = None
    if alert.get("event") in ALERT_LABELS:
        state = alert.get("alert_state")
        flow.alert = {
            "label": ALERT_LABELS[alert["event"]],
            "state": {"ACTIVATED": _("Active"), "DEACTIVATED": _("Recovered")}.get(state, _("Warning")),
            "tone": "badge-success" if state == "DEACTIVATED" else "badge-warning",
            "figures": _figures(alert),
            "message": alert.get("message", ""),
            "errors": alert.get("errors", []),
            "at": flow.last_alert_at,
        }
    return flow


def _flow(request, flow_id: int) -> WhatsAppFlow | None:
    return selectors.flow_list(org=request.org, number_ids=request_visible_numbers(request)).filter(pk=flow_id).first()


def _flow_numbers(request) -> list:
    return [
        n
        for n in number_list(org=request.org, number_ids=request_visible_numbers(request))
        if services.flow_waba_id(n) is not None
    ]


@require_safe
@member_required
def flow_list(request):
    flows = page_of(request, selectors.flow_list(org=request.org, number_ids=request_visible_numbers(request)))
    for flow in flows:
        _show(flow)
        flow.category_labels = [CATEGORY_LABELS.get(c, c) for c in flow.categories]
    context = {"flows": flows, "can_manage": request.role in MANAGERS, "has_numbers": bool(_flow_numbers(request))}
    return render(request, "messaging/whatsapp_flows.html", context)


@member_required
def flow_new(request):
    if request.role not in MANAGERS:
        return _refused(request)
    numbers = _flow_numbers(request)
    form = FlowForm(request.POST or None, numbers=numbers)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            flow = services.flow_create(
                organization=request.org,
                actor=request.user,
                name=data["name"],
                categories=data["categories"],
                flow_json=data["flow_json"] or None,
                number_id=data["number_id"],
                number_ids=request_visible_numbers(request),
            )
        except ServiceError as refused:
            show_service_error(form, refused)
        else:
            messages.success(request, _("The flow %(name)s was created as a draft.") % {"name": flow.name})
            return redirect("whatsapp-flow", flow.pk)
    return render(request, "messaging/whatsapp_flow_form.html", {"form": form, "has_numbers": bool(numbers)})


def _render_flow(request, flow: WhatsAppFlow, form: FlowForm | None = None, status: int = 200):
    _show(flow)
    responses = list(selectors.flow_response_list(org=request.org, flow=flow)[:RESPONSES_SHOWN])
    columns = selectors.response_columns(responses)
    rows = [(response, dict(selectors.response_fields(response.response_json or {}))) for response in responses]
    context = {
        "flow": flow,
        "form": form or FlowForm(flow=flow),
        "can_manage": request.role in MANAGERS,
        "errors": services.validation_messages(flow.validation_errors or []),
        "columns": columns,
        "rows": [(response, [answers.get(column, "") for column in columns]) for response, answers in rows],
        "delete_names": [flow.name],
    }
    return render(request, "messaging/whatsapp_flow.html", context, status=status)


@member_required
def flow_detail(request, whatsapp_flow_id: int):
    flow = _flow(request, whatsapp_flow_id)
    if flow is None:
        return not_found(request)
    if request.method != "POST":
        return _render_flow(request, flow)
    if request.role not in MANAGERS:
        return _refused(request)
    form = FlowForm(request.POST, flow=flow)
    if form.is_valid():
        data = form.cleaned_data
        changes = {"name": data["name"], "categories": data["categories"]}
        if data["flow_json"].strip():
            changes["flow_json"] = data["flow_json"]
        try:
            services.flow_update(flow=flow, actor=request.user, **changes)
        except ServiceError as refused:
            show_service_error(form, refused)
            return _render_flow(request, _flow(request, whatsapp_flow_id), form)
        messages.success(request, _("The flow %(name)s was saved.") % {"name": data["name"]})
        return redirect("whatsapp-flow", flow.pk)
    return _render_flow(request, flow, form)


def _action(request, flow_id: int, act, done: str):
    flow = _flow(request, flow_id)
    if flow is None:
        return not_found(request)
    if request.role not in MANAGERS:
        return _refused(request)
    try:
        act(flow=flow, actor=request.user)
    except ServiceError as refused:
        messages.error(request, refused.detail)
    else:
        messages.success(request, done % {"name": flow.name})
    return redirect("whatsapp-flow", flow.pk)


@require_POST
@member_required
def flow_publish(request, whatsapp_flow_id: int):
    return _action(request, whatsapp_flow_id, services.flow_publish, _("The flow %(name)s was published."))


@require_POST
@member_required
def flow_deprecate(request, whatsapp_flow_id: int):
    return _action(request, whatsapp_flow_id, services.flow_deprecate, _("The flow %(name)s was deprecated."))


@require_POST
@member_required
def flow_delete(request, whatsapp_flow_id: int):
    flow = _flow(request, whatsapp_flow_id)
    if flow is None:
        return not_found(request)
    if request.role not in MANAGERS:
        return _refused(request)
    if request.POST.get("confirm", "").strip() != flow.name:
        messages.error(request, _("Type the flow's name to delete it."))
        return redirect("whatsapp-flow", flow.pk)
    try:
        services.flow_delete(flow=flow, actor=request.user)
    except ServiceError as refused:
        messages.error(request, refused.detail)
        return redirect("whatsapp-flow", flow.pk)
    messages.success(request, _("The flow %(name)s was deleted.") % {"name": flow.name})
    return redirect("whatsapp-flows")


@require_safe
@member_required
def flow_preview(request, whatsapp_flow_id: int):
    """To Meta's preview of the flow (a fresh link when the one kept expires)."""
    flow = _flow(request, whatsapp_flow_id)
    if flow is None:
        return not_found(request)
    try:
        flow = services.flow_preview(flow=flow)
    except ServiceError as refused:
        messages.error(request, refused.detail)
        return redirect("whatsapp-flow", flow.pk)
    if not flow.preview_url:
        messages.info(request, _("A sandbox flow has no preview: Meta never sees it."))
        return redirect("whatsapp-flow", flow.pk)
    return HttpResponseRedirect(flow.preview_url)


@require_safe
@member_required
def flow_responses_csv(request, whatsapp_flow_id: int):
    flow = _flow(request, whatsapp_flow_id)
    if flow is None:
        return not_found(request)
    responses = list(selectors.flow_response_list(org=request.org, flow=flow).iterator(chunk_size=500))
    columns, rows = selectors.response_table(responses)
    return csv_response(filename=f"flow-{flow.pk}-responses", columns=columns, rows=rows)


urlpatterns = [
    path("templates/whatsapp-flows/", flow_list, name="whatsapp-flows"),
    path("templates/whatsapp-flows/new/", flow_new, name="whatsapp-flow-new"),
    path("templates/whatsapp-flows/<id:whatsapp_flow_id>/", flow_detail, name="whatsapp-flow"),
    path("templates/whatsapp-flows/<id:whatsapp_flow_id>/publish/", flow_publish, name="whatsapp-flow-publish"),
    path("templates/whatsapp-flows/<id:whatsapp_flow_id>/deprecate/", flow_deprecate, name="whatsapp-flow-deprecate"),
    path("templates/whatsapp-flows/<id:whatsapp_flow_id>/delete/", flow_delete, name="whatsapp-flow-delete"),
    path("templates/whatsapp-flows/<id:whatsapp_flow_id>/preview/", flow_preview, name="whatsapp-flow-preview"),
    path(
        "templates/whatsapp-flows/<id:whatsapp_flow_id>/responses.csv",
        flow_responses_csv,
        name="whatsapp-flow-responses",
    ),
]
