"""The templates pages: the list (filters, search, live status and quality badges, a sync from Meta showing its
progress), a new template (a form with a live preview, submitted to the API so each mistake comes back next to its
component), and a template (its preview, placeholders, Meta's verdict, delete). They read through the templates
selectors and write through the services the API calls, with the API's roles (templates/api.py): every member reads;
marketing and admins create, delete and sync."""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import get_language, gettext_lazy, pgettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from accounts.permissions import IsMarketing
from accounts.web import member_required, permission_denied
from messaging.models import Provider, WhatsAppNumber
from messaging.selectors.access import request_visible_numbers
from messaging.selectors.numbers import number_list
from templates import rendering, selectors, services
from templates.filters import TemplateFilter
from templates.models import MessageTemplate
from whatsapp_hub.errors import ServiceError

PAGE_SIZE = 50
# The API's IsMarketing: creating, deleting and syncing.
MANAGERS = IsMarketing.roles
Status = MessageTemplate.Status
# What the pages call Meta's statuses and quality ratings (also the live updates' labels, through json_script).
STATUS_LABELS = {
    Status.APPROVED: pgettext_lazy("template status", "Approved"),
    Status.PENDING: pgettext_lazy("template status", "In review"),
    Status.REJECTED: pgettext_lazy("template status", "Rejected"),
    Status.PAUSED: pgettext_lazy("template status", "Paused"),
    Status.DISABLED: pgettext_lazy("template status", "Disabled"),
    Status.IN_APPEAL: pgettext_lazy("template status", "In appeal"),
    Status.PENDING_DELETION: pgettext_lazy("template status", "Being deleted"),
    Status.DELETED: pgettext_lazy("template status", "Deleted"),
    Status.LIMIT_EXCEEDED: pgettext_lazy("template status", "Limit exceeded"),
    Status.ARCHIVED: pgettext_lazy("template status", "Archived"),
    Status.FLAGGED: pgettext_lazy("template status", "Flagged"),
    Status.LOCKED: pgettext_lazy("template status", "Locked"),
}
# The badge of each status: good, waiting, bad (others are plain).
STATUS_TONES = {
    Status.APPROVED: "accent",
    Status.PENDING: "warning",
    Status.IN_APPEAL: "warning",
    Status.FLAGGED: "warning",
    Status.REJECTED: "danger",
    Status.PAUSED: "danger",
    Status.DISABLED: "danger",
    Status.LOCKED: "danger",
}
QUALITY_LABELS = {
    MessageTemplate.Quality.GREEN: pgettext_lazy("template quality", "High"),
    MessageTemplate.Quality.YELLOW: pgettext_lazy("template quality", "Medium"),
    MessageTemplate.Quality.RED: pgettext_lazy("template quality", "Low"),
    MessageTemplate.Quality.UNKNOWN: pgettext_lazy("template quality", "Not rated yet"),
}
QUALITY_TONES = {
    MessageTemplate.Quality.GREEN: "accent",
    MessageTemplate.Quality.YELLOW: "warning",
    MessageTemplate.Quality.RED: "danger",
}
CATEGORY_LABELS = {
    MessageTemplate.Category.MARKETING: pgettext_lazy("template category", "Marketing"),
    MessageTemplate.Category.UTILITY: pgettext_lazy("template category", "Utility"),
    MessageTemplate.Category.AUTHENTICATION: pgettext_lazy("template category", "Authentication"),
}
# Meta's codes the language field suggests (any code of Meta's list is taken).
LANGUAGES = ("en", "en_US", "en_GB", "ar", "fr", "es", "es_MX", "de", "it", "pt_BR", "pt_PT", "tr", "id", "hi", "ur")
REFUSALS = {
    "create": gettext_lazy("Creating templates is for marketing and admins of %(org)s. Ask an admin for access."),
    "delete": gettext_lazy("Deleting templates is for marketing and admins of %(org)s. Ask an admin for access."),
}


def _refused(request, action: str):
    return permission_denied(request, reason=REFUSALS[action] % {"org": request.org.name})


def _labels() -> dict:
    """The labels and tones the pages' script shows live changes with."""
    return {
        "status": {key: str(label) for key, label in STATUS_LABELS.items()},
        "status_tones": dict(STATUS_TONES),
        "quality": {key: str(label) for key, label in QUALITY_LABELS.items()},
        "quality_tones": dict(QUALITY_TONES),
    }


def _sync_words() -> dict:
    """What the sync button says while a sync runs and when it ends ({pages}, {created}… filled in by the script)."""
    return {
        "running": _("Syncing from Meta… {pages} page(s) read."),
        "done": _("Synced from Meta: {created} new, {updated} updated, {deleted} marked deleted."),
        "failed": _("The sync failed: {error}"),
        "refused": _("The sync could not start: {error}"),
    }


def _template_numbers(request) -> QuerySet[WhatsAppNumber]:
    """The live numbers the person sees that have templates (Cloud numbers of an account, sandbox numbers)."""
    return number_list(org=request.org, number_ids=request_visible_numbers(request)).exclude(provider=Provider.WAHA)


def _row(template: MessageTemplate) -> MessageTemplate:
    """The template with what its row and badges show."""
    template.status_label = STATUS_LABELS.get(template.status, template.status)
    template.status_tone = STATUS_TONES.get(template.status, "")
    template.quality_label = QUALITY_LABELS.get(template.quality_score, template.quality_score)
    template.quality_tone = QUALITY_TONES.get(template.quality_score, "")
    template.category_label = CATEGORY_LABELS.get(template.category, template.category)
    return template


# --- the list ------------------------------------------------------------------------------------------------------


def _filters(request, numbers: QuerySet[WhatsAppNumber]) -> TemplateFilter:
    """The API list's filters (its FilterSet), with the page's labels on its choices."""
    filterset = TemplateFilter(request.GET, queryset=selectors.template_rows(org=request.org), request=request)
    fields = filterset.form.fields
    fields["status"].empty_label, fields["status"].choices = _("All statuses"), list(STATUS_LABELS.items())
    fields["category"].empty_label, fields["category"].choices = _("All categories"), list(CATEGORY_LABELS.items())
    fields["number"].queryset = numbers
    fields["number"].empty_label = _("All numbers")
    fields["number"].label_from_instance = lambda number: number.display_name
    return filterset


@require_safe
@member_required
def template_list(request):
    numbers = _template_numbers(request)
    filterset = _filters(request, numbers)
    valid = filterset.is_valid()  # a bad filter (a stale number) shows the list unfiltered, the field in error
    templates = filterset.qs if valid else selectors.template_list(org=request.org)
    page = Paginator(templates, PAGE_SIZE).get_page(request.GET.get("page"))
    for template in page.object_list:
        _row(template)
    query = request.GET.copy()
    query.pop("page", None)
    can_manage = request.role in MANAGERS
    filters = filterset.form.cleaned_data if valid else {}
    context = {
        "form": filterset.form,
        "page": page,
        "filtered": any(filters.get(name) for name in ("search", "status", "category", "number", "language")),
        "query": query.urlencode(),
        "can_manage": can_manage,
        "can_sync": can_manage and numbers.filter(provider=Provider.CLOUD).exclude(waba_id="").exists(),
        "has_numbers": numbers.exists(),
        "labels": _labels(),
        "sync_words": _sync_words(),
    }
    return render(request, "message_templates/list.html", context)


# --- a new template -----------------------------------------------------------------------------------------------


@require_safe
@member_required
def template_create(request):
    """The form; the page's script submits it to POST /api/v1/templates/ (the same service), whose errors it shows
    next to the field or component they name."""
    if request.role not in MANAGERS:
        return _refused(request, "create")
    numbers = list(_template_numbers(request))
    context = {
        "numbers": numbers,
        "default_language": "ar" if get_language() == "ar" else "en_US",
        "languages": LANGUAGES,
        "words": {
            "example": _("Example for {name}"),
            "image": _("Image"),
            "video": _("Video"),
            "document": _("Document"),
            "location": _("Location"),
            "copy_code": _("Copy offer code"),
            "empty_body": _("Your message appears here."),
            "fix": _("Some parts need fixing: see the messages next to them."),
            "failed": _("The template could not be submitted: {detail}"),
        },
        "categories": [
            (value, label)
            for value, label in CATEGORY_LABELS.items()
            if value != MessageTemplate.Category.AUTHENTICATION
        ],
    }
    return render(request, "message_templates/new.html", context)


# --- one template -------------------------------------------------------------------------------------------------


class DeleteForm(forms.Form):
    confirm = forms.CharField(label=gettext_lazy("Type the template's name to confirm"))

    def __init__(self, data=None, *, template: MessageTemplate):
        super().__init__(data)
        self.template = template

    def clean_confirm(self) -> str:
        typed = self.cleaned_data["confirm"].strip()
        if typed != self.template.name:
            raise forms.ValidationError(_("That is not this template's name."))
        return typed


def _template_or_404(request, template_id: int) -> MessageTemplate:
    return get_object_or_404(selectors.template_rows(org=request.org), pk=template_id)


def _render_template(request, template: MessageTemplate, *, delete_form=None, status: int = 200):
    header = next((c for c in template.components if str(c.get("type", "")).upper() == "HEADER"), None)
    context = {
        "template": _row(template),
        "header": header,
        "header_format": str(header.get("format", "TEXT")).upper() if header else "",
        "body": next((c for c in template.components if str(c.get("type", "")).upper() == "BODY"), None),
        "footer": next((c for c in template.components if str(c.get("type", "")).upper() == "FOOTER"), None),
        "buttons": next(
            (c.get("buttons") or [] for c in template.components if str(c.get("type", "")).upper() == "BUTTONS"), []
        ),
        "placeholders": rendering.placeholders(template),
        "delete_form": delete_form or DeleteForm(template=template),
        "delete_names": [template.name],
        "can_manage": request.role in MANAGERS,
        "labels": _labels(),
    }
    return render(request, "message_templates/detail.html", context, status=status)


@require_safe
@member_required
def template_detail(request, template_id: int):
    return _render_template(request, _template_or_404(request, template_id))


@require_POST
@member_required
def template_delete(request, template_id: int):
    """The API's delete: at Meta, then marked here."""
    template = _template_or_404(request, template_id)
    if request.role not in MANAGERS:
        return _refused(request, "delete")
    delete_form = DeleteForm(request.POST, template=template)
    if not delete_form.is_valid():
        return _render_template(request, template, delete_form=delete_form)
    try:
        services.template_delete(template=template, actor=request.user)
    except ServiceError as refused:
        delete_form.add_error(None, refused.detail)
        return _render_template(request, template, delete_form=delete_form)
    messages.success(request, _("The template %(name)s was deleted.") % {"name": template.name})
    return redirect("templates")


urlpatterns = [
    path("templates/", template_list, name="templates"),
    path("templates/new/", template_create, name="template-create"),
    path("templates/<id:template_id>/", template_detail, name="template-detail"),
    path("templates/<id:template_id>/delete/", template_delete, name="template-delete"),
]
