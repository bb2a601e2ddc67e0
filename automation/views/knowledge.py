"""Knowledge bases' pages: the list (and a new one, admins), a knowledge base's page (its documents and their
statuses, upload, delete a document, a search box showing the passages a bot would retrieve, with their scores;
admins also rename, deactivate or delete it). Every member reads and searches; admins write.

The page works without JavaScript (forms post here, the search is a GET); static/js/knowledge.js uploads through the
API with a progress bar, and polls the documents API while one is pending or processing so their statuses move
without a reload. Writes go through automation.services.knowledge, as the API's do."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Role
from accounts.settings_views.common import not_found, page_of
from accounts.web import admin_required, member_required
from automation import llm
from automation.models.knowledge import Document, KnowledgeBase
from automation.selectors import knowledge as selectors
from automation.services import knowledge as services
from whatsapp_hub.errors import ServiceError
from whatsapp_hub.forms import show_service_error

STATUS_LABELS = {
    Document.Status.PENDING: gettext_lazy("Queued"),
    Document.Status.PROCESSING: gettext_lazy("Processing"),
    Document.Status.READY: gettext_lazy("Ready"),
    Document.Status.FAILED: gettext_lazy("Failed"),
}
STATUS_BADGES = {
    Document.Status.PENDING: "",
    Document.Status.PROCESSING: "badge-warning",
    Document.Status.READY: "badge-success",
    Document.Status.FAILED: "badge-danger",
}
ACCEPT = ".pdf,.docx,.txt,.md,.markdown"
SEARCH_LIMIT = 5


class KnowledgeBaseForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=200,
        widget=forms.TextInput(attrs={"dir": "auto", "autocomplete": "off"}),
    )
    description = forms.CharField(
        label=gettext_lazy("Description"),
        max_length=2000,
        required=False,
        help_text=gettext_lazy("Optional: what it holds, for your team."),
        widget=forms.Textarea(attrs={"rows": 2, "dir": "auto"}),
    )


class KnowledgeBaseEditForm(KnowledgeBaseForm):
    active = forms.BooleanField(
        label=gettext_lazy("Active: bots answer from it"),
        required=False,
    )


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Document"),
        help_text=gettext_lazy("PDF, Word (DOCX), text or Markdown, at most 10 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
    )


def _is_admin(request) -> bool:
    return request.role == Role.ADMIN


def _kb(request, kb_id: int) -> KnowledgeBase | None:
    return selectors.knowledge_base_get(org=request.org, pk=kb_id)


def document_row(document: Document) -> dict:
    """A document as the page's table and knowledge.js show it (the API's shape, with the words of its status)."""
    return {
        "id": document.pk,
        "filename": document.name,
        "file_type": document.file_type,
        "file_size": document.size,
        "status": document.status,
        "status_label": str(STATUS_LABELS[document.status]),
        "badge": STATUS_BADGES[document.status],
        "error": document.error,
        "warning": document.warning,
        "chunk_count": document.chunk_count,
        "page_count": document.page_count,
        "created_at": document.created_at,
    }


@member_required
def knowledge_list(request):
    form = KnowledgeBaseForm(request.POST or None)
    if request.method == "POST":
        if not _is_admin(request):
            return redirect("knowledge")
        if form.is_valid():
            try:
                kb = services.knowledge_base_create(
                    organization=request.org,
                    actor=request.user,
                    name=form.cleaned_data["name"],
                    description=form.cleaned_data["description"],
                )
            except ServiceError as refused:
                show_service_error(form, refused)
            else:
                messages.success(request, _("Knowledge base created: upload its documents."))
                return redirect("knowledge-detail", kb_id=kb.pk)
    bases = page_of(request, selectors.knowledge_base_list(org=request.org))
    return render(
        request,
        "automation/knowledge_list.html",
        {"bases": bases, "form": form, "is_admin": _is_admin(request), "opened": request.method == "POST"},
    )


@member_required
def knowledge_detail(request, kb_id: int):
    kb = _kb(request, kb_id)
    if kb is None:
        return not_found(request)
    is_admin = _is_admin(request)
    action = request.POST.get("action") if request.method == "POST" else None
    initial = {"name": kb.name, "description": kb.description, "active": kb.active}
    edit_form = KnowledgeBaseEditForm(request.POST if action == "edit" else None, initial=initial)
    upload_form = UploadForm(request.POST, request.FILES) if action == "upload" else UploadForm()
    if action and not is_admin:
        return redirect("knowledge-detail", kb_id=kb.pk)
    if action == "edit" and edit_form.is_valid():
        try:
            services.knowledge_base_update(knowledge_base=kb, actor=request.user, **edit_form.cleaned_data)
        except ServiceError as refused:
            show_service_error(edit_form, refused)
        else:
            messages.success(request, _("Knowledge base saved."))
            return redirect("knowledge-detail", kb_id=kb.pk)
    if action == "upload" and upload_form.is_valid():
        try:
            services.document_upload(knowledge_base=kb, actor=request.user, file=upload_form.cleaned_data["file"])
        except ServiceError as refused:
            show_service_error(upload_form, refused)
        else:
            messages.success(request, _("Document uploaded: it is searchable once it is ready."))
            return redirect("knowledge-detail", kb_id=kb.pk)
    query = request.GET.get("q", "").strip()[:2000]
    hits = selectors.knowledge_base_search(org=request.org, knowledge_base=kb, query=query, limit=SEARCH_LIMIT)
    documents = page_of(request, selectors.document_list(org=request.org, knowledge_base=kb))
    kb.refresh_from_db()
    return render(
        request,
        "automation/knowledge_detail.html",
        {
            "kb": kb,
            "is_admin": is_admin,
            "edit_form": edit_form,
            "upload_form": upload_form,
            "documents": documents,
            "rows": [document_row(document) for document in documents],
            "query": query,
            "hits": hits,
            "hybrid": llm.embeddings_configured(request.org),
            "delete_names": [kb.name],
            "labels": {
                "uploading": _("Uploading… %(percent)s%%"),
                "processing": _("Uploaded: reading the document…"),
                "failed": _("The upload failed."),
                "network": _("The upload did not reach the hub: check the connection and try again."),
                "choose": _("Choose a file first."),
            },
            "page_data": {
                "documents_url": reverse("knowledge-base-documents", kwargs={"pk": kb.pk}),
                "upload_url": reverse("knowledge-base-upload", kwargs={"pk": kb.pk}),
                "statuses": {status: str(label) for status, label in STATUS_LABELS.items()},
                "badges": STATUS_BADGES,
                "poll": selectors.documents_in_progress(org=request.org, knowledge_base=kb),
            },
        },
    )


@admin_required
def knowledge_document_delete(request, kb_id: int, doc_id: int):
    kb = _kb(request, kb_id)
    document = selectors.document_list(org=request.org, knowledge_base=kb).filter(pk=doc_id).first() if kb else None
    if document is None:
        return not_found(request)
    if request.method != "POST":
        return redirect("knowledge-detail", kb_id=kb.pk)
    try:
        services.document_delete(document=document, actor=request.user)
    except ServiceError as refused:
        messages.error(request, refused.detail)
    else:
        messages.success(request, _("Document %(name)s deleted with its passages.") % {"name": document.name})
    return redirect("knowledge-detail", kb_id=kb.pk)


@admin_required
def knowledge_delete(request, kb_id: int):
    kb = _kb(request, kb_id)
    if kb is None:
        return not_found(request)
    if request.method != "POST":
        return redirect("knowledge-detail", kb_id=kb.pk)
    if request.POST.get("confirm", "").strip() != kb.name:
        messages.error(request, _("Type the knowledge base's name to delete it."))
        return redirect("knowledge-detail", kb_id=kb.pk)
    services.knowledge_base_delete(knowledge_base=kb, actor=request.user)
    messages.success(request, _("Knowledge base %(name)s deleted.") % {"name": kb.name})
    return redirect("knowledge")


urlpatterns = [
    path("knowledge/", knowledge_list, name="knowledge"),
    path("knowledge/<id:kb_id>/", knowledge_detail, name="knowledge-detail"),
    path("knowledge/<id:kb_id>/delete/", knowledge_delete, name="knowledge-delete"),
    path(
        "knowledge/<id:kb_id>/documents/<id:doc_id>/delete/",
        knowledge_document_delete,
        name="knowledge-document-delete",
    ),
]
