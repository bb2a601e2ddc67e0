"""Settings > Canned responses (admins): the list (search, pages), a new one, one's page (edit, its attachment
replaced or removed) and its deletion (confirmed). Every write goes through messaging.services.canned, as the API's
do (messaging/api/canned.py: admins write, every member reads and agents use them in the inbox's / menu); the
service's refusals show next to the field they name."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.settings_views.common import not_found, page_of
from accounts.web import admin_required
from messaging.models import CannedResponse
from messaging.selectors import canned as selectors
from messaging.services import canned as services
from messaging.services.media import MIME_TYPES_BY_MESSAGE_TYPE
from whatsapp_hub.errors import ServiceError
from whatsapp_hub.forms import show_service_error

# The file picker offers what the service takes.
ACCEPTED_FILES = ",".join(
    sorted(mime for mtype in services.ATTACHMENT_TYPES for mime in MIME_TYPES_BY_MESSAGE_TYPE[mtype])
)
# The service's arguments -> the form field their errors go next to.
SERVICE_FIELDS = {"attachment_id": "attachment", "attachment_file": "attachment"}


class CannedResponseForm(forms.Form):
    shortcut = forms.CharField(
        label=gettext_lazy("Shortcut"),
        max_length=64,
        help_text=gettext_lazy(
            "Agents type / and the shortcut in the composer, e.g. price. Letters, digits, _ and -, no spaces, at "
            "most 32."
        ),
        widget=forms.TextInput(attrs={"dir": "auto", "autocomplete": "off", "spellcheck": "false"}),
    )
    title = forms.CharField(
        label=gettext_lazy("Title"),
        max_length=services.TITLE_MAX_LENGTH,
        required=False,
        help_text=gettext_lazy("Optional: shown beside the shortcut in the / menu."),
        widget=forms.TextInput(attrs={"dir": "auto", "autocomplete": "off"}),
    )
    # No max_length here: a browser sends a textarea's line breaks as two characters; the service counts them as one.
    text = forms.CharField(
        label=gettext_lazy("Text"),
        required=False,
        strip=False,
        help_text=gettext_lazy("At most 4,096 characters, or 1,024 with an attachment (it is the file's caption)."),
        widget=forms.Textarea(attrs={"rows": 6, "dir": "auto", "maxlength": services.TEXT_MAX_LENGTH}),
    )
    attachment = forms.FileField(
        label=gettext_lazy("Attachment"),
        required=False,
        help_text=gettext_lazy(
            "Optional: a photo (JPEG, PNG), a video (MP4, 3GPP) or a document (PDF, Word, Excel, PowerPoint, text), "
            "sent with the text as its caption."
        ),
        widget=forms.FileInput(attrs={"accept": ACCEPTED_FILES}),
    )
    remove_attachment = forms.BooleanField(label=gettext_lazy("Remove the attachment"), required=False)

    def __init__(self, data=None, files=None, *, canned: CannedResponse | None = None):
        initial = None
        if canned is not None:
            initial = {"shortcut": canned.shortcut, "title": canned.title, "text": canned.text}
        super().__init__(data, files, initial=initial)
        if canned is None or canned.attachment_id is None:
            del self.fields["remove_attachment"]
        else:
            self.fields["attachment"].label = gettext_lazy("Replace the attachment")

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        arguments = {"shortcut": data["shortcut"], "title": data["title"], "text": data["text"]}
        if data["attachment"] is not None:
            arguments["attachment_file"] = data["attachment"]
        elif data.get("remove_attachment"):
            arguments["attachment_id"] = None
        return arguments


def _page(request, template: str, context: dict):
    return render(
        request,
        f"messaging/{template}",
        {"section": "canned-responses", "placeholders": services.PLACEHOLDERS, **context},
    )


def _canned(request, canned_id: int) -> CannedResponse | None:
    return selectors.canned_response_list(org=request.org).filter(pk=canned_id).first()


@admin_required
def canned_list(request):
    search = request.GET.get("q", "").strip()[:200]
    responses = page_of(request, selectors.canned_response_list(org=request.org, search=search))
    return _page(request, "canned.html", {"responses": responses, "search": search})


@admin_required
def canned_new(request):
    form = CannedResponseForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            canned = services.canned_response_create(
                organization=request.org, actor=request.user, **form.service_arguments()
            )
        except ServiceError as refused:
            show_service_error(form, refused, fields=SERVICE_FIELDS)
        else:
            messages.success(request, _("Canned response /%(shortcut)s created.") % {"shortcut": canned.shortcut})
            return redirect("settings-canned-responses")
    return _page(request, "canned_form.html", {"form": form, "canned": None})


@admin_required
def canned_edit(request, canned_id: int):
    canned = _canned(request, canned_id)
    if canned is None:
        return not_found(request)
    form = CannedResponseForm(request.POST or None, request.FILES or None, canned=canned)
    if request.method == "POST" and form.is_valid():
        try:
            services.canned_response_update(canned_response=canned, actor=request.user, **form.service_arguments())
        except ServiceError as refused:
            show_service_error(form, refused, fields=SERVICE_FIELDS)
            canned = _canned(request, canned_id)  # the service set the refused values on the one it was given
        else:
            messages.success(request, _("Canned response /%(shortcut)s saved.") % {"shortcut": canned.shortcut})
            return redirect("settings-canned-responses")
    return _page(request, "canned_form.html", {"form": form, "canned": canned})


@admin_required
def canned_delete(request, canned_id: int):
    """A confirmation page (GET), then the deletion (POST)."""
    canned = _canned(request, canned_id)
    if canned is None:
        return not_found(request)
    if request.method == "POST":
        services.canned_response_delete(canned_response=canned, actor=request.user)
        messages.success(request, _("Canned response /%(shortcut)s deleted.") % {"shortcut": canned.shortcut})
        return redirect("settings-canned-responses")
    return _page(request, "canned_delete.html", {"canned": canned})


urlpatterns = [
    path("settings/canned-responses/", canned_list, name="settings-canned-responses"),
    path("settings/canned-responses/new/", canned_new, name="settings-canned-response-new"),
    path("settings/canned-responses/<id:canned_id>/", canned_edit, name="settings-canned-response"),
    path("settings/canned-responses/<id:canned_id>/delete/", canned_delete, name="settings-canned-response-delete"),
]
