"""Settings > Organization: its name and settings (time zone, language, opt-out and opt-in keywords, business
hours), saved through organization_update so the settings schema (accounts.org_settings) checks them."""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _

from accounts import org_settings, services
from accounts.forms import OrganizationForm
from accounts.web import admin_required, organization_time_zone
from whatsapp_hub.errors import ServiceError
from whatsapp_hub.forms import show_service_error

SETTINGS_FIELDS = ("timezone", "locale", "opt_out_keywords", "opt_in_keywords", "require_admin_two_factor")


def _initial(organization) -> dict:
    """What the organization uses now: its settings, else the defaults (a value of the wrong shape reads as the
    default, as org_settings' readers do)."""
    saved = organization.settings if isinstance(organization.settings, dict) else {}

    def words(key: str, default: tuple[str, ...]) -> list[str]:
        value = saved.get(key)
        return value if isinstance(value, list) else list(default)

    return {
        "name": organization.name,
        "timezone": organization_time_zone(organization).key,
        "locale": saved.get("locale") if saved.get("locale") in org_settings.locales() else settings.LANGUAGE_CODE,
        "opt_out_keywords": words("opt_out_keywords", org_settings.DEFAULT_OPT_OUT_KEYWORDS),
        "opt_in_keywords": words("opt_in_keywords", org_settings.DEFAULT_OPT_IN_KEYWORDS),
        "require_admin_two_factor": org_settings.admin_two_factor_required(saved),
        **OrganizationForm.hours_initial(org_settings.business_hours(saved)),
    }


@admin_required
def organization(request):
    """The form; a save (POST) sends only what changed, so an untouched default stays a default."""
    form = OrganizationForm(request.POST or None, initial=_initial(request.org))
    if request.method == "POST" and form.is_valid():
        changes = {key: form.cleaned_data[key] for key in SETTINGS_FIELDS if key in form.changed_data}
        if form.business_hours_changed():
            changes["business_hours"] = form.cleaned_data["business_hours"] or None  # no day open: none set
        try:
            services.organization_update(
                organization=request.org,
                actor=request.user,
                name=form.cleaned_data["name"] if "name" in form.changed_data else None,
                settings=changes or None,
            )
        except ServiceError as refused:
            show_service_error(form, refused)
            request.org.refresh_from_db(fields=["name", "settings"])  # the shell shows the saved name, not the refused
        else:
            messages.success(request, _("Organization settings saved."))
            return redirect("settings-organization")
    context = {
        "section": "organization",
        "form": form,
        "time_zones": sorted(org_settings.time_zones()),
        "opt_out_floor": org_settings.OPT_OUT_FLOOR,
    }
    return render(request, "accounts/settings/organization.html", context)


urlpatterns = [path("settings/organization/", organization, name="settings-organization")]
