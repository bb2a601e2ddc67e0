"""Settings > Logs (admins): the organization's system log, newest first, filtered by level, category and a start
time, reloading itself when new entries are pushed (the live socket's `system_log.created`, then the list fragment).
Reads through accounts.selectors.system_log, as GET logs does. Entries the services wrote are shown in the reader's
language (their template translated, its details filled in); those API clients added, as written."""

from django import forms
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache

from accounts import selectors
from accounts.models import SystemLog
from accounts.settings_views.common import page_of
from accounts.web import admin_required

LEVEL_LABELS = {
    SystemLog.Level.INFO: pgettext_lazy("log level", "Info"),
    SystemLog.Level.WARNING: pgettext_lazy("log level", "Warning"),
    SystemLog.Level.ERROR: pgettext_lazy("log level", "Error"),
}
LEVEL_BADGES = {SystemLog.Level.INFO: "badge-accent", SystemLog.Level.WARNING: "badge-warning", "error": "badge-danger"}
CATEGORY_LABELS = {
    SystemLog.Category.WEBHOOK: _("Webhooks"),
    SystemLog.Category.API: pgettext_lazy("log category", "API"),
    SystemLog.Category.WORKFLOW: _("Flows"),
    SystemLog.Category.CAMPAIGN: _("Campaigns"),
    SystemLog.Category.DELIVERY: _("Deliveries"),
    SystemLog.Category.INTEGRATION: _("Integrations"),
}


class LogFilterForm(forms.Form):
    level = forms.ChoiceField(label=_("Level"), required=False, choices=[("", _("All levels")), *LEVEL_LABELS.items()])
    category = forms.ChoiceField(
        label=_("Category"), required=False, choices=[("", _("All categories")), *CATEGORY_LABELS.items()]
    )
    since = forms.DateTimeField(
        label=_("Since"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


def _shown(log: SystemLog) -> str:
    """The entry's message in the reader's language: its template translated and filled in with its details (each
    detail that is itself one of the product's words translated too), else the message as stored."""
    if not log.template:
        return log.message
    details = log.details if isinstance(log.details, dict) else {}
    values = {key: gettext(value) if isinstance(value, str) and value else value for key, value in details.items()}
    try:
        return gettext(log.template) % values
    except (KeyError, TypeError, ValueError):
        return log.message


def _log(request) -> dict:
    """The list's context: its filters (as given; a bad value is shown next to its field and ignored) and the page."""
    filters = LogFilterForm(request.GET or None)
    chosen = filters.cleaned_data if filters.is_valid() else {}
    logs = selectors.system_log(
        org=request.org,
        level=chosen.get("level", ""),
        category=chosen.get("category", ""),
        since=chosen.get("since"),
    )
    page = page_of(request, logs)
    for log in page:
        log.shown = _shown(log)
        log.level_label, log.level_badge = LEVEL_LABELS.get(log.level, log.level), LEVEL_BADGES.get(log.level, "")
        log.category_label = CATEGORY_LABELS.get(log.category, log.category)
    query = request.GET.copy()
    query.pop("page", None)
    return {"section": "logs", "filters": filters, "logs": page, "filter_query": query.urlencode()}


@never_cache
@admin_required
def system_log(request):
    return render(request, "accounts/settings/system_log.html", _log(request))


@never_cache
@admin_required
def system_log_entries(request):
    """The list alone (the same filters and page): what the page reloads when entries are pushed."""
    return render(request, "accounts/settings/system_log_entries.html", _log(request))


urlpatterns = [
    path("settings/logs/", system_log, name="settings-logs"),
    path("settings/logs/entries/", system_log_entries, name="settings-logs-entries"),
]
