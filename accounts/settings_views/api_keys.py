"""Settings > API keys: the organization's integration credentials. A new key's secret is shown once, on the page
the creation redirects to, and never again; revoking is confirmed."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from accounts import selectors, services
from accounts.forms import ApiKeyForm
from accounts.settings_views.common import not_found, page_of
from accounts.web import admin_required
from whatsapp_hub.errors import ServiceError
from whatsapp_hub.forms import show_service_error

# The new key's secret waits here between the creation (POST) and the page showing it (GET), which takes it out:
# a reload, or the back button (never cached), finds it gone.
NEW_SECRET_SESSION_KEY = "settings_new_api_key"


def _api_key(request, key_id: int):
    return selectors.api_keys(org=request.org).filter(pk=key_id).first()


@admin_required
def api_keys(request):
    """The keys, and the form creating one (POST)."""
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            key, secret = services.api_key_create(organization=request.org, actor=request.user, **form.cleaned_data)
        except ServiceError as refused:
            show_service_error(form, refused)
        else:
            request.session[NEW_SECRET_SESSION_KEY] = {"id": key.pk, "secret": secret}
            return redirect("settings-api-key", key_id=key.pk)
    context = {"section": "api-keys", "form": form, "keys": page_of(request, selectors.api_keys(org=request.org))}
    return render(request, "accounts/settings/api_keys.html", context)


@never_cache
@admin_required
def api_key_created(request, key_id: int):
    """The new key, with its secret the first time this page is shown."""
    key = _api_key(request, key_id)
    if key is None:
        return not_found(request)
    waiting = request.session.get(NEW_SECRET_SESSION_KEY)
    secret = None
    if isinstance(waiting, dict) and waiting.get("id") == key.pk:
        secret = request.session.pop(NEW_SECRET_SESSION_KEY)["secret"]
    return render(
        request, "accounts/settings/api_key_created.html", {"section": "api-keys", "key": key, "secret": secret}
    )


@admin_required
def api_key_revoke(request, key_id: int):
    """A confirmation page (GET), then the revocation (POST)."""
    key = _api_key(request, key_id)
    if key is None:
        return not_found(request)
    if request.method == "POST" and key.is_active:
        services.api_key_revoke(api_key=key, actor=request.user)
        messages.success(request, _("The key %(name)s is revoked: it no longer works.") % {"name": key.name})
        return redirect("settings-api-keys")
    return render(request, "accounts/settings/api_key_revoke.html", {"section": "api-keys", "key": key})


urlpatterns = [
    path("settings/api-keys/", api_keys, name="settings-api-keys"),
    path("settings/api-keys/<id:key_id>/", api_key_created, name="settings-api-key"),
    path("settings/api-keys/<id:key_id>/revoke/", api_key_revoke, name="settings-api-key-revoke"),
]
