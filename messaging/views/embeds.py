"""Inbox embeds: the settings pages (admins: list, new, revoke, delete) and the embed itself.

The embed (/embed/<token>/, then one conversation at /embed/<token>/conversations/<id>/) is shown inside another
site's iframe: there is no signed-in person, the signed token in the URL is the credential, and each request
re-reads the embed (selectors.embeds.embed_from_token), so a revoked or expired one answers 404 at once. It shows
only the conversations of its scope (another is a 404, as another organization's is); in read-only mode the composer
is absent and a POST is refused (403). The page is live through its own socket (/ws/embed/?token=: static/js/embed.js,
messaging.consumers.EmbedConsumer), which ends as the embed does. Its Content-Security-Policy's frame-ancestors lists
only the embed's allowed origins, and X-Frame-Options is left off (it cannot list origins; frame-ancestors supersedes
it in browsers).

The replies are POSTed without Django's CSRF check: inside a third-party iframe the browser does not send the
CSRF cookie, and the token in the URL, which an attacker would need, is what authorizes the request."""

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.models import Team
from accounts.settings_views.common import not_found
from accounts.web import admin_required
from messaging.models import InboxEmbed, Message
from messaging.selectors import embeds as selectors
from messaging.selectors.conversations import conversation_messages
from messaging.selectors.numbers import number_list
from messaging.services import embeds as services
from whatsapp_hub.errors import ServiceError
from whatsapp_hub.forms import show_service_error

THREAD_LENGTH = 100
LIST_LENGTH = 100


class EmbedForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=services.NAME_MAX_LENGTH,
        help_text=gettext_lazy("Where it is used, e.g. Helpdesk sidebar."),
        widget=forms.TextInput(attrs={"dir": "auto", "autocomplete": "off"}),
    )
    number_ids = forms.TypedMultipleChoiceField(
        label=gettext_lazy("WhatsApp numbers"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    team_ids = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Teams"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("The conversations of these teams, and of the numbers assigned to them."),
    )
    mode = forms.ChoiceField(
        label=gettext_lazy("Mode"),
        widget=forms.RadioSelect,
        initial=InboxEmbed.Mode.READ_ONLY,
        choices=[
            (InboxEmbed.Mode.READ_ONLY, gettext_lazy("Read only: conversations are shown, nothing can be sent")),
            (InboxEmbed.Mode.REPLY, gettext_lazy("Reply: text replies can be sent, signed with the embed's name")),
        ],
    )
    allowed_origins = forms.CharField(
        label=gettext_lazy("Allowed sites"),
        help_text=gettext_lazy("One origin a line, e.g. https://crm.example.com: only these may show the embed."),
        widget=forms.Textarea(attrs={"rows": 3, "dir": "ltr", "spellcheck": "false"}),
    )
    expires_at = forms.DateTimeField(
        label=gettext_lazy("Expires"),
        required=False,
        help_text=gettext_lazy("Optional: after this moment the embed stops working."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def __init__(self, data=None, *, org):
        super().__init__(data)
        self.fields["number_ids"].choices = [(n.pk, n.display_name or n.phone_number) for n in number_list(org=org)]
        self.fields["team_ids"].choices = [(team.pk, team.name) for team in Team.objects.for_org(org)]

    def service_arguments(self) -> dict:
        data = dict(self.cleaned_data)
        data["allowed_origins"] = data["allowed_origins"].split()
        return data


def _settings_page(request, template: str, context: dict):
    return render(request, f"messaging/{template}", {"section": "embeds", **context})


def _embed(request, embed_id: int) -> InboxEmbed | None:
    return selectors.embed_list(org=request.org).filter(pk=embed_id).first()


@admin_required
def embed_settings(request):
    embeds = [(embed, services.embed_token(embed)) for embed in selectors.embed_list(org=request.org)]
    return _settings_page(request, "embeds.html", {"embeds": embeds, "now": timezone.now()})


@admin_required
def embed_new(request):
    form = EmbedForm(request.POST or None, org=request.org)
    if request.method == "POST" and form.is_valid():
        try:
            embed = services.embed_create(organization=request.org, actor=request.user, **form.service_arguments())
        except ServiceError as refused:
            show_service_error(form, refused)
        else:
            messages.success(request, _("Embed %(name)s created: copy its address below.") % {"name": embed.name})
            return redirect("settings-embeds")
    return _settings_page(request, "embed_form.html", {"form": form})


@admin_required
@require_http_methods(["POST"])
def embed_revoke(request, embed_id: int):
    embed = _embed(request, embed_id)
    if embed is None:
        return not_found(request)
    services.embed_revoke(embed=embed, actor=request.user)
    messages.success(request, _("Embed %(name)s revoked: it no longer opens anywhere.") % {"name": embed.name})
    return redirect("settings-embeds")


@admin_required
@require_http_methods(["POST"])
def embed_delete(request, embed_id: int):
    embed = _embed(request, embed_id)
    if embed is None:
        return not_found(request)
    services.embed_delete(embed=embed, actor=request.user)
    messages.success(request, _("Embed %(name)s deleted.") % {"name": embed.name})
    return redirect("settings-embeds")


# --- the embed -----------------------------------------------------------------------------------------------------


def _live_labels() -> dict:
    """What the page's script (static/js/embed.js) writes as messages arrive and change, in the page's language."""
    return {
        "statuses": {
            Message.Status.QUEUED: _("Sending…"),
            Message.Status.SENT: _("Sent"),
            Message.Status.DELIVERED: _("Delivered"),
            Message.Status.READ: _("Read"),
            Message.Status.FAILED: _("Not delivered"),
        },
        "types": {
            Message.Type.IMAGE: _("Photo"),
            Message.Type.AUDIO: _("Audio"),
            Message.Type.VIDEO: _("Video"),
            Message.Type.DOCUMENT: _("Document"),
            Message.Type.STICKER: _("Sticker"),
            Message.Type.LOCATION: _("Location"),
            Message.Type.CONTACTS: _("Contact card"),
            Message.Type.TEMPLATE: _("Template"),
        },
        "message": _("Message"),
    }


def _framed(request, embed: InboxEmbed, context: dict, *, status: int = 200):
    context = {"embed": embed, "labels": _live_labels(), **context}
    response = render(request, "messaging/embed.html", context, status=status)
    # Only the embed's sites may frame it (django-csp replaces the default 'none' for this response).
    response._csp_replace = {"frame-ancestors": list(embed.allowed_origins)}
    return response


def _language(request) -> None:
    """?lang=ar or en: the other site chooses (the hub's language cookie is not sent inside a third-party frame)."""
    language = request.GET.get("lang")
    if language in ("en", "ar"):
        translation.activate(language)
        request.LANGUAGE_CODE = language


def _active_embed(token: str) -> InboxEmbed:
    embed = selectors.embed_from_token(token)
    if embed is None:
        raise Http404
    return embed


@xframe_options_exempt
@require_http_methods(["GET"])
def embed_inbox(request, token: str):
    _language(request)
    embed = _active_embed(token)
    conversations = selectors.embed_conversation_list(embed=embed)[:LIST_LENGTH]
    return _framed(request, embed, {"token": token, "conversations": conversations, "current": None})


@csrf_exempt
@xframe_options_exempt
@require_http_methods(["GET", "POST"])
def embed_conversation(request, token: str, conversation_id: int):
    _language(request)
    embed = _active_embed(token)
    scoped = selectors.embed_conversation_list(embed=embed)
    conversation = scoped.filter(pk=conversation_id).first()
    if conversation is None:
        raise Http404
    error, status = None, 200
    if request.method == "POST":
        try:
            services.embed_reply(embed=embed, conversation=conversation, text=request.POST.get("text", "")[:4096])
        except ServiceError as refused:
            error, status = refused.detail, refused.status_code
        else:
            return redirect(request.get_full_path())
    thread = list(
        conversation_messages(org=embed.organization, conversation=conversation).order_by("-id")[:THREAD_LENGTH]
    )
    context = {
        "token": token,
        "conversations": scoped[:LIST_LENGTH],
        "current": conversation,
        "thread": thread[::-1],
        "error": error,
        "lang": request.GET.get("lang", ""),
    }
    return _framed(request, embed, context, status=status)


urlpatterns = [
    path("settings/embeds/", embed_settings, name="settings-embeds"),
    path("settings/embeds/new/", embed_new, name="settings-embed-new"),
    path("settings/embeds/<id:embed_id>/revoke/", embed_revoke, name="settings-embed-revoke"),
    path("settings/embeds/<id:embed_id>/delete/", embed_delete, name="settings-embed-delete"),
    path("embed/<str:token>/", embed_inbox, name="embed"),
    path("embed/<str:token>/conversations/<id:conversation_id>/", embed_conversation, name="embed-conversation"),
]
