"""Settings > E-mail log (admins): the e-mails the hub sent about the organization, newest first, filtered by kind,
status, recipient and dates, each with its status and its attachments. Reads through accounts.selectors.email_log,
as GET email-logs does."""

from datetime import datetime, time, timedelta

from django import forms
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.cache import never_cache

from accounts import selectors
from accounts.models import EmailLog
from accounts.settings_views.common import page_of
from accounts.web import admin_required

KIND_LABELS = {
    EmailLog.Kind.INVITATION: _("Invitation"),
    EmailLog.Kind.PASSWORD_RESET: _("Password reset"),
    EmailLog.Kind.MAGIC_LINK: _("Sign-in link"),
    EmailLog.Kind.LOCKOUT: _("Lockout notice"),
    EmailLog.Kind.WEBHOOK_DISABLED: _("Webhook disabled"),
    EmailLog.Kind.NOTIFICATION: _("Notification"),
    EmailLog.Kind.DIGEST: _("Digest"),
    EmailLog.Kind.TEST: pgettext_lazy("e-mail kind", "Test"),
}
STATUS_LABELS = {
    EmailLog.Status.QUEUED: pgettext_lazy("e-mail status", "Queued"),
    EmailLog.Status.SENT: pgettext_lazy("e-mail status", "Sent"),
    EmailLog.Status.FAILED: pgettext_lazy("e-mail status", "Failed"),
}
STATUS_BADGES = {
    EmailLog.Status.QUEUED: "badge-warning",
    EmailLog.Status.SENT: "badge-success",
    EmailLog.Status.FAILED: "badge-danger",
}


class EmailLogFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("All kinds")), *KIND_LABELS.items()])
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All statuses")), *STATUS_LABELS.items()]
    )
    recipient = forms.CharField(
        label=_("Recipient"),
        required=False,
        max_length=254,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Recipient"), "dir": "auto"}),
    )
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))


def _day_start(day):
    """Midnight starting `day` in the current time zone (the one dates are shown in)."""
    return timezone.make_aware(datetime.combine(day, time.min))


@never_cache
@admin_required
def email_log(request):
    filters = EmailLogFilterForm(request.GET or None)
    chosen = filters.cleaned_data if filters.is_valid() else {}
    date_from, date_to = chosen.get("date_from"), chosen.get("date_to")
    logs = selectors.email_log(
        org=request.org,
        kind=chosen.get("kind", ""),
        status=chosen.get("status", ""),
        recipient=chosen.get("recipient", "").strip(),
        date_from=_day_start(date_from) if date_from else None,
        # The day chosen is included: before the midnight that ends it.
        date_to=_day_start(date_to + timedelta(days=1)) if date_to and date_to.year < 9999 else None,
    )
    page = page_of(request, logs)
    for log in page:
        log.kind_label = KIND_LABELS.get(log.kind, log.kind)
        log.status_label, log.status_badge = STATUS_LABELS.get(log.status, log.status), STATUS_BADGES.get(log.status)
    query = request.GET.copy()
    query.pop("page", None)
    context = {"section": "email-log", "filters": filters, "logs": page, "filter_query": query.urlencode()}
    return render(request, "accounts/settings/email_log.html", context)


urlpatterns = [path("settings/email-log/", email_log, name="settings-email-log")]
