"""Account > Notifications: the signed-in person's notification preferences in the organization (each kind x
channel, quiet hours), saved through messaging.services.notifications as the API's PUT notification-preferences.
Every role has it: everyone gets notifications."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.org_settings import time_zones
from accounts.web import member_required, organization_time_zone
from messaging.models import NotificationKind
from messaging.selectors.notifications import notification_preference
from messaging.services import notifications as services
from whatsapp_hub.errors import ServiceError
from whatsapp_hub.forms import show_service_error

CHANNEL_LABELS = {
    "in_app": gettext_lazy("In the app"),
    "browser": gettext_lazy("Browser pop-up"),
    "email": gettext_lazy("E-mail"),
}


class NotificationPreferencesForm(forms.Form):
    quiet_start = forms.TimeField(
        label=gettext_lazy("Quiet hours from"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    quiet_end = forms.TimeField(
        label=gettext_lazy("Quiet hours until"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    time_zone = forms.CharField(
        label=gettext_lazy("Time zone"),
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"list": "time-zones", "dir": "ltr"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for kind in NotificationKind:
            for channel, label in CHANNEL_LABELS.items():
                self.fields[f"{kind.value}__{channel}"] = forms.BooleanField(label=label, required=False)

    def rows(self) -> list[dict]:
        return [
            {
                "label": _(kind.label),
                "fields": [self[f"{kind.value}__{channel}"] for channel in CHANNEL_LABELS],
            }
            for kind in NotificationKind
        ]

    def channels(self) -> dict:
        return {
            kind: {channel: self.cleaned_data[f"{kind}__{channel}"] for channel in CHANNEL_LABELS}
            for kind in NotificationKind.values
        }


def _initial(preference) -> dict:
    initial = {
        f"{kind}__{channel}": on
        for kind, channels in services.channels_of(preference).items()
        for channel, on in channels.items()
    }
    if preference is not None:
        initial.update(
            quiet_start=preference.quiet_start, quiet_end=preference.quiet_end, time_zone=preference.time_zone
        )
    return initial


@member_required
def notification_preferences(request):
    preference = notification_preference(org=request.org, user_id=request.user.pk)
    form = NotificationPreferencesForm(request.POST or None, initial=_initial(preference))
    if request.method == "POST" and form.is_valid():
        try:
            services.notification_preferences_update(
                organization=request.org,
                user=request.user,
                channels=form.channels(),
                quiet_start=form.cleaned_data["quiet_start"],
                quiet_end=form.cleaned_data["quiet_end"],
                time_zone=form.cleaned_data["time_zone"].strip(),
            )
        except ServiceError as refused:
            show_service_error(form, refused)
        else:
            messages.success(request, _("Notification preferences saved."))
            return redirect("notification-preferences")
    context = {
        "form": form,
        "channels": list(CHANNEL_LABELS.values()),
        "time_zones": sorted(time_zones()),
        "organization_time_zone": organization_time_zone(request.org).key,
    }
    return render(request, "messaging/notification_preferences.html", context)


urlpatterns = [path("account/notifications/", notification_preferences, name="notification-preferences")]
