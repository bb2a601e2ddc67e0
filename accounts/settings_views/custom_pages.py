"""Custom pages: Settings > Custom pages (admins: the list, a new one, one's edit page, its deletion confirmed) and
the page itself at /pages/<id>/ (every member: the rail lists them after the built-in entries). Writes go through
accounts.services (custom_page_*), as the API's do (accounts/api.py CustomPageViewSet).

A Markdown page is rendered by accounts.markdown (raw HTML shown as text, links only to http(s), mailto and this
site). An external URL page shows the address in a frame sandboxed without allow-same-origin (the framed site runs
its scripts in an opaque origin: no cookies or storage of its own, nothing of ours); the Content-Security-Policy's
frame-src allows that address's origin on that page only."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import selectors, services
from accounts.markdown import markdown_render
from accounts.models import CustomPage
from accounts.settings_views.common import not_found
from accounts.web import admin_required, member_required
from whatsapp_hub.errors import ServiceError
from whatsapp_hub.forms import show_service_error

KIND_CHOICES = [
    (CustomPage.Kind.MARKDOWN, gettext_lazy("Text written here (Markdown)")),
    (CustomPage.Kind.URL, gettext_lazy("An external website, shown inside the hub")),
]


class CustomPageForm(forms.Form):
    title = forms.CharField(
        label=gettext_lazy("Title"),
        max_length=services.CUSTOM_PAGE_TITLE_MAX_LENGTH,
        help_text=gettext_lazy("Its name in the navigation."),
        widget=forms.TextInput(attrs={"dir": "auto", "autocomplete": "off"}),
    )
    icon = forms.ChoiceField(label=gettext_lazy("Icon"), choices=list(services.CUSTOM_PAGE_ICONS.items()))
    position = forms.IntegerField(
        label=gettext_lazy("Position"),
        min_value=0,
        max_value=services.CUSTOM_PAGE_POSITION_MAX,
        initial=0,
        help_text=gettext_lazy("Pages with a lower number come first in the navigation."),
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Content"), choices=KIND_CHOICES, widget=forms.RadioSelect, initial=CustomPage.Kind.MARKDOWN
    )
    content = forms.CharField(
        label=gettext_lazy("Text"),
        required=False,
        strip=False,
        help_text=gettext_lazy(
            "Markdown: # headings, **bold**, lists, [links](https://example.com), tables. HTML is shown as text."
        ),
        widget=forms.Textarea(attrs={"rows": 12, "dir": "auto", "maxlength": services.CUSTOM_PAGE_CONTENT_MAX_LENGTH}),
    )
    url = forms.CharField(
        label=gettext_lazy("Address"),
        required=False,
        max_length=services.CUSTOM_PAGE_URL_MAX_LENGTH,
        help_text=gettext_lazy(
            "An https:// address. The site must allow being shown in a frame; it runs sandboxed, without its cookies."
        ),
        widget=forms.URLInput(attrs={"dir": "ltr", "autocomplete": "off", "placeholder": "https://"}),
    )


def _page(request, template: str, context: dict):
    return render(request, f"accounts/settings/{template}", {"section": "custom-pages", **context})


def _custom_page(request, page_id: int) -> CustomPage | None:
    return selectors.custom_page_list(org=request.org).filter(pk=page_id).first()


@admin_required
def custom_page_settings(request):
    pages = selectors.custom_page_list(org=request.org)
    return _page(request, "custom_pages.html", {"pages": pages, "limit": services.CUSTOM_PAGES_MAX})


@admin_required
def custom_page_new(request):
    form = CustomPageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            page = services.custom_page_create(organization=request.org, actor=request.user, **form.cleaned_data)
        except ServiceError as refused:
            show_service_error(form, refused)
        else:
            messages.success(request, _("Page %(title)s added to the navigation.") % {"title": page.title})
            return redirect("settings-custom-pages")
    return _page(request, "custom_page_form.html", {"form": form, "page": None})


@admin_required
def custom_page_edit(request, page_id: int):
    page = _custom_page(request, page_id)
    if page is None:
        return not_found(request)
    initial = {name: getattr(page, name) for name in ("title", "icon", "position", "kind", "content", "url")}
    form = CustomPageForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.custom_page_update(page=page, actor=request.user, **form.cleaned_data)
        except ServiceError as refused:
            show_service_error(form, refused)
            page = _custom_page(request, page_id)  # the service set the refused values on the one it was given
        else:
            messages.success(request, _("Page %(title)s saved.") % {"title": page.title})
            return redirect("settings-custom-pages")
    return _page(request, "custom_page_form.html", {"form": form, "page": page})


@admin_required
def custom_page_delete(request, page_id: int):
    """A confirmation page (GET), then the deletion (POST)."""
    page = _custom_page(request, page_id)
    if page is None:
        return not_found(request)
    if request.method == "POST":
        services.custom_page_delete(page=page, actor=request.user)
        messages.success(request, _("Page %(title)s removed from the navigation.") % {"title": page.title})
        return redirect("settings-custom-pages")
    return _page(request, "custom_page_delete.html", {"page": page})


@member_required
def custom_page_show(request, page_id: int):
    """The page, for every member of the organization."""
    page = _custom_page(request, page_id)
    if page is None:
        return not_found(request)
    origin = services.http_origin(page.url) if page.kind == CustomPage.Kind.URL else None
    html = markdown_render(page.content) if page.kind == CustomPage.Kind.MARKDOWN else ""
    response = render(request, "accounts/custom_page.html", {"page": page, "html": html, "origin": origin})
    if origin is not None:
        # django-csp merges this into the policy of this response only: the frame may show that origin, nothing else.
        response._csp_update = {"frame-src": [origin]}
    return response


urlpatterns = [
    path("settings/custom-pages/", custom_page_settings, name="settings-custom-pages"),
    path("settings/custom-pages/new/", custom_page_new, name="settings-custom-page-new"),
    path("settings/custom-pages/<id:page_id>/", custom_page_edit, name="settings-custom-page"),
    path("settings/custom-pages/<id:page_id>/delete/", custom_page_delete, name="settings-custom-page-delete"),
    path("pages/<id:page_id>/", custom_page_show, name="custom-page"),
]
