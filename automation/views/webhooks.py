"""Settings > Webhooks (admins): the organization's outbound webhook endpoints. The list with a form creating one
(its secret shown once, on the page the creation leads to), an endpoint's page (edit its events, URL and state;
rotate its secret; send a test ping; delete it) with its delivery log (filters, redeliver), which reloads itself
when deliveries move (the live socket's `webhook.deliveries`, then the log fragment). Reads through
automation.selectors.webhooks, writes through automation.services.webhooks, as the API does."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.settings_views.common import not_found, page_of
from accounts.web import admin_required
from automation import events
from automation.models import WebhookDelivery, WebhookEndpoint
from automation.models.webhooks import URL_MAX_LENGTH
from automation.selectors import webhooks as selectors
from automation.services import webhooks as services
from whatsapp_hub.errors import ServiceError
from whatsapp_hub.forms import show_service_error

# A new (or rotated) secret waits here between the POST and the page showing it, which takes it out: a reload, or the
# back button (never cached), finds it gone.
NEW_SECRET_SESSION_KEY = "settings_new_webhook_secret"


def _event_choices() -> list[tuple[str, str]]:
    return [
        (name, format_html('<code dir="ltr">{}</code> <span class="muted">{}</span>', name, description))
        for name, description in events.EVENT_TYPES.items()
    ]


class WebhookForm(forms.Form):
    url = forms.CharField(
        label=gettext_lazy("URL"),
        max_length=URL_MAX_LENGTH,
        help_text=gettext_lazy("Where the events are posted (https recommended). It must be on a public address."),
        widget=forms.URLInput(attrs={"dir": "ltr", "placeholder": "https://example.com/whatsapp-hub/events"}),
    )
    description = forms.CharField(
        label=gettext_lazy("Description"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("Optional: what receives them, e.g. CRM sync."),
        widget=forms.TextInput(attrs={"dir": "auto"}),
    )
    events = forms.MultipleChoiceField(
        label=gettext_lazy("Events"), choices=_event_choices, widget=forms.CheckboxSelectMultiple
    )
    secret = forms.CharField(
        label=gettext_lazy("Signing secret"),
        required=False,
        min_length=services.SECRET_MIN_LENGTH,
        max_length=services.SECRET_MAX_LENGTH,
        help_text=gettext_lazy("Optional: leave it empty and the hub generates one (recommended)."),
        widget=forms.TextInput(attrs={"dir": "ltr", "autocomplete": "off", "spellcheck": "false"}),
    )
    active = forms.BooleanField(label=gettext_lazy("Active: send events to it"), required=False)

    def __init__(self, data=None, *, endpoint: WebhookEndpoint | None = None):
        initial = None
        if endpoint is not None:
            initial = {
                "url": endpoint.url,
                "description": endpoint.description,
                "events": endpoint.events,
                "active": endpoint.active,
            }
        super().__init__(data, initial=initial)
        if endpoint is None:
            del self.fields["active"]
        else:
            del self.fields["secret"]

    def service_arguments(self) -> dict:
        arguments = dict(self.cleaned_data)
        if not arguments.get("secret"):
            arguments.pop("secret", None)
        return arguments


class RotateForm(forms.Form):
    grace_hours = forms.TypedChoiceField(
        label=gettext_lazy("The current secret keeps signing for"),
        coerce=int,
        choices=[
            (24, gettext_lazy("24 hours (both secrets sign meanwhile)")),
            (1, gettext_lazy("1 hour")),
            (0, gettext_lazy("No time: stop it now")),
        ],
        initial=24,
    )


STATUS_LABELS = {
    "pending": pgettext_lazy("webhook delivery", "Pending"),
    "retrying": pgettext_lazy("webhook delivery", "Retrying"),
    "succeeded": pgettext_lazy("webhook delivery", "Succeeded"),
    "failed": pgettext_lazy("webhook delivery", "Failed"),
}


class LogFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[("", gettext_lazy("All statuses")), *STATUS_LABELS.items()],
    )
    event = forms.ChoiceField(
        label=gettext_lazy("Event"),
        required=False,
        choices=[("", gettext_lazy("All events")), *((name, name) for name in [*events.EVENT_TYPES, events.PING])],
    )


STATUS_BADGES = {"pending": "", "retrying": "badge-warning", "succeeded": "badge-success", "failed": "badge-danger"}


def _endpoint(request, webhook_id: int) -> WebhookEndpoint | None:
    return selectors.webhook_endpoint_list(org=request.org).filter(pk=webhook_id).first()


def _page(request, template: str, context: dict):
    return render(request, f"automation/{template}", {"section": "webhooks", **context})


def _keep_secret(request, endpoint: WebhookEndpoint, secret: str) -> None:
    request.session[NEW_SECRET_SESSION_KEY] = {"id": endpoint.pk, "secret": secret}


def _log(request, endpoint: WebhookEndpoint) -> dict:
    """The delivery log's context: its filters (as given) and the page of deliveries they select."""
    filters = LogFilterForm(request.GET or None)
    chosen = filters.cleaned_data if filters.is_valid() else {}
    deliveries = selectors.webhook_delivery_list(
        org=request.org,
        endpoint=endpoint,
        status=chosen.get("status", ""),
        event_type=chosen.get("event", ""),
    )
    page = page_of(request, deliveries)
    for delivery in page:
        delivery.error_text = services.error_message(delivery)
        delivery.status_label, delivery.status_badge = STATUS_LABELS[delivery.status], STATUS_BADGES[delivery.status]
    query = request.GET.copy()
    query.pop("page", None)
    return {"filters": filters, "deliveries": page, "filter_query": query.urlencode()}


@admin_required
def webhook_list(request):
    """The endpoints, and the form creating one (POST)."""
    form = WebhookForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint, secret = services.webhook_endpoint_create(
                organization=request.org, actor=request.user, **form.service_arguments()
            )
        except ServiceError as refused:
            show_service_error(form, refused)
        else:
            _keep_secret(request, endpoint, secret)
            return redirect("settings-webhook", webhook_id=endpoint.pk)
    endpoints = page_of(request, selectors.webhook_endpoint_list(org=request.org))
    for endpoint in endpoints:
        if endpoint.last_delivery_status:
            endpoint.last_status_label = STATUS_LABELS[endpoint.last_delivery_status]
            endpoint.last_status_badge = STATUS_BADGES[endpoint.last_delivery_status]
    return _page(request, "webhooks.html", {"form": form, "endpoints": endpoints})


@never_cache
@admin_required
def webhook_detail(request, webhook_id: int):
    """An endpoint: its new secret the first time after its creation or rotation, the edit form (POST), its
    actions and its delivery log."""
    endpoint = _endpoint(request, webhook_id)
    if endpoint is None:
        return not_found(request)
    form = WebhookForm(request.POST or None, endpoint=endpoint)
    if request.method == "POST" and form.is_valid():
        try:
            services.webhook_endpoint_update(endpoint=endpoint, actor=request.user, **form.service_arguments())
        except ServiceError as refused:
            show_service_error(form, refused)
        else:
            messages.success(request, _("Webhook saved."))
            return redirect("settings-webhook", webhook_id=endpoint.pk)
    waiting = request.session.get(NEW_SECRET_SESSION_KEY)
    secret = None
    if isinstance(waiting, dict) and waiting.get("id") == endpoint.pk:
        secret = request.session.pop(NEW_SECRET_SESSION_KEY)["secret"]
    context = {
        "endpoint": endpoint,
        "form": form,
        "secret": secret,
        "rotate_form": RotateForm(),
        **_log(request, endpoint),
    }
    return _page(request, "webhooks_detail.html", context)


@never_cache
@admin_required
def webhook_deliveries(request, webhook_id: int):
    """The delivery log alone (the same filters and page): what the endpoint's page reloads when deliveries move."""
    endpoint = _endpoint(request, webhook_id)
    if endpoint is None:
        return not_found(request)
    return _page(request, "webhooks_log.html", {"endpoint": endpoint, **_log(request, endpoint)})


@require_POST
@admin_required
def webhook_rotate(request, webhook_id: int):
    endpoint = _endpoint(request, webhook_id)
    if endpoint is None:
        return not_found(request)
    form = RotateForm(request.POST)
    grace_hours = form.cleaned_data["grace_hours"] if form.is_valid() else 24
    endpoint, secret = services.webhook_endpoint_rotate_secret(
        endpoint=endpoint, actor=request.user, grace_hours=grace_hours
    )
    _keep_secret(request, endpoint, secret)
    messages.success(request, _("A new secret was made: copy it now."))
    return redirect("settings-webhook", webhook_id=endpoint.pk)


@require_POST
@admin_required
def webhook_test(request, webhook_id: int):
    """Send a test ping now and say how it went."""
    endpoint = _endpoint(request, webhook_id)
    if endpoint is None:
        return not_found(request)
    delivery = services.webhook_endpoint_test(endpoint=endpoint, actor=request.user)
    if delivery.status == WebhookDelivery.Status.SUCCEEDED:
        messages.success(
            request,
            _("Test ping delivered: the endpoint answered HTTP %(status)s in %(ms)s ms.")
            % {"status": delivery.response_status, "ms": delivery.latency_ms},
        )
    else:
        messages.error(request, _("Test ping failed: %(error)s") % {"error": services.error_message(delivery)})
    return redirect("settings-webhook", webhook_id=endpoint.pk)


@require_POST
@admin_required
def webhook_redeliver(request, webhook_id: int, delivery_id: int):
    endpoint = _endpoint(request, webhook_id)
    delivery = (
        None
        if endpoint is None
        else selectors.webhook_delivery_list(org=request.org, endpoint=endpoint).filter(pk=delivery_id).first()
    )
    if delivery is None:
        return not_found(request)
    delivery.endpoint = endpoint
    try:
        services.webhook_delivery_redeliver(delivery=delivery, actor=request.user)
    except ServiceError as refused:
        messages.error(request, refused.detail)
    else:
        messages.success(request, _("The event was queued again: its new delivery is at the top of the log."))
    return redirect("settings-webhook", webhook_id=endpoint.pk)


@admin_required
def webhook_delete(request, webhook_id: int):
    """A confirmation page (GET), then the deletion (POST)."""
    endpoint = _endpoint(request, webhook_id)
    if endpoint is None:
        return not_found(request)
    if request.method == "POST":
        services.webhook_endpoint_delete(endpoint=endpoint, actor=request.user)
        messages.success(request, _("The webhook to %(url)s was deleted.") % {"url": endpoint.url})
        return redirect("settings-webhooks")
    return _page(request, "webhooks_delete.html", {"endpoint": endpoint})


urlpatterns = [
    path("settings/webhooks/", webhook_list, name="settings-webhooks"),
    path("settings/webhooks/<id:webhook_id>/", webhook_detail, name="settings-webhook"),
    path("settings/webhooks/<id:webhook_id>/deliveries/", webhook_deliveries, name="settings-webhook-deliveries"),
    path("settings/webhooks/<id:webhook_id>/rotate/", webhook_rotate, name="settings-webhook-rotate"),
    path("settings/webhooks/<id:webhook_id>/test/", webhook_test, name="settings-webhook-test"),
    path("settings/webhooks/<id:webhook_id>/delete/", webhook_delete, name="settings-webhook-delete"),
    path(
        "settings/webhooks/<id:webhook_id>/deliveries/<id:delivery_id>/redeliver/",
        webhook_redeliver,
        name="settings-webhook-redeliver",
    ),
]
