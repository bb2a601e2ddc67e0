"""Writes of knowledge bases: create, change, delete; upload a document, process it (extract, split, tokens,
vectors), delete it; the sweeper of documents left behind.

The knowledge base's counters and its `version` move in the transaction that changes its chunks, under a lock on
its row (so a document processed while another is deleted cannot lose a count). `version` takes a new random value
at every change: it keys the retrieval index each process caches (automation/knowledge/retrieval.py), and a random
value can never meet an index built for another state, even where a rolled-back test reuses a row's id.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from datetime import timedelta
from typing import Any

import numpy as np
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from accounts import plans
from accounts.models import Organization
from accounts.services import audit_log_write
from automation import llm
from automation.knowledge import filetypes
from automation.knowledge.extract import ExtractionError, extract
from automation.knowledge.normalize import tokens
from automation.knowledge.split import split
from automation.models.knowledge import Chunk, Document, KnowledgeBase
from messaging.services.media import clean_filename
from whatsapp_hub.aftercommit import enqueue_after_commit, run_after_commit
from whatsapp_hub.errors import ServiceError

logger = logging.getLogger(__name__)

MB = 1024 * 1024
UPLOAD_MAX_BYTES = 10 * MB
MAX_CHUNKS = 20_000  # per document: ~20 MB of text
MAX_ATTEMPTS = 3  # a document whose processing died this many times fails
PENDING_GRACE = timedelta(minutes=2)  # a pending document not taken by then is queued again (broker down at commit)
PROCESSING_GRACE = timedelta(minutes=10)  # longer than the task's time limit: its worker died
UNSET: Any = object()


def _field_error(field: str, message: str) -> ServiceError:
    return ServiceError(f"{field}: {message}", errors={field: [message]})


def _new_version() -> int:
    return secrets.randbits(62)


def _check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise _field_error("name", gettext("This field may not be blank."))
    return name[:200]


# --- knowledge bases -------------------------------------------------------------------------------------------


def knowledge_base_create(
    *, organization: Organization, actor, name: str, description: str = "", active: bool = True
) -> KnowledgeBase:
    with transaction.atomic():
        kb = KnowledgeBase.objects.create(
            organization=organization,
            name=_check_name(name),
            description=description.strip(),
            active=active,
            version=_new_version(),
        )
        audit_log_write(organization=organization, actor=actor, action="knowledge_base.create", target=kb)
    return kb


def knowledge_base_update(
    *, knowledge_base: KnowledgeBase, actor, name: str = UNSET, description: str = UNSET, active: bool = UNSET
) -> KnowledgeBase:
    """Change the given fields (UNSET: unchanged). Audited with the names of the fields changed."""
    changes: dict[str, Any] = {}
    if name is not UNSET:
        changes["name"] = _check_name(name)
    if description is not UNSET:
        changes["description"] = description.strip()
    if active is not UNSET:
        changes["active"] = active
    with transaction.atomic():
        kb = _locked(knowledge_base)
        changed = sorted(field for field, value in changes.items() if getattr(kb, field) != value)
        if changed:
            for field in changed:
                setattr(kb, field, changes[field])
            kb.updated_at = timezone.now()
            kb.save(update_fields=[*changed, "updated_at"])
            audit_log_write(
                organization=kb.organization,
                actor=actor,
                action="knowledge_base.update",
                target=kb,
                data={"fields": changed},
            )
    return kb


def knowledge_base_delete(*, knowledge_base: KnowledgeBase, actor) -> None:
    """Delete the knowledge base, its documents and chunks; their files after the commit."""
    with transaction.atomic():
        kb = _locked(knowledge_base)
        documents = Document.objects.filter(knowledge_base=kb)
        names = set(documents.exclude(file="").values_list("file", flat=True))
        plans.usage_storage_add(
            organization_id=kb.organization_id, delta=-sum(documents.values_list("size", flat=True))
        )
        audit_log_write(
            organization=kb.organization,
            actor=actor,
            action="knowledge_base.delete",
            target=kb,
            data={"name": kb.name},
        )
        kb.delete()
        files_delete_on_commit(names)


def _locked(knowledge_base: KnowledgeBase) -> KnowledgeBase:
    """The knowledge base read again under a row lock (inside a transaction); 404 once deleted."""
    kb = (
        KnowledgeBase.objects.select_for_update()
        .select_related("organization")
        .filter(organization_id=knowledge_base.organization_id, pk=knowledge_base.pk)
        .first()
    )
    if kb is None:
        raise ServiceError("Not found.", status_code=404, code="not_found")
    return kb


# --- documents -------------------------------------------------------------------------------------------------


def upload_size_check(*, size: int | None) -> None:
    """413 before parsing a request body that cannot hold an acceptable file."""
    if size is not None and size > UPLOAD_MAX_BYTES + MB:  # room for the multipart envelope
        raise _too_large()


def _too_large() -> ServiceError:
    return ServiceError(
        gettext("The file is too large: at most %(size)s MB.") % {"size": UPLOAD_MAX_BYTES // MB},
        status_code=413,
        code="too_large",
    )


def document_upload(*, knowledge_base: KnowledgeBase, actor, file: File) -> Document:
    """Store an uploaded file as a `pending` document of the knowledge base and queue its processing. The type comes
    from the content (PDF, DOCX, TXT, Markdown); another is a 400, a file over 10 MB a 413."""
    if file.size is not None and file.size > UPLOAD_MAX_BYTES:
        raise _too_large()
    file.seek(0)
    data = file.read(UPLOAD_MAX_BYTES + 1)
    if len(data) > UPLOAD_MAX_BYTES:
        raise _too_large()
    name = clean_filename(file.name or "") or "document"
    try:
        file_type = filetypes.detect(data, name)
    except filetypes.UnsupportedFile as exc:
        raise _field_error("file", str(exc)) from None
    organization_id = knowledge_base.organization_id
    plans.storage_check(organization=knowledge_base.organization, size=len(data))  # before anything is written
    stored = default_storage.save(f"knowledge/{organization_id}/{uuid.uuid4().hex}.{file_type}", ContentFile(data))
    try:
        with transaction.atomic():
            kb = _locked(knowledge_base)
            plans.usage_storage_reserve(organization=kb.organization, size=len(data))
            document = Document.objects.create(
                organization_id=organization_id,
                knowledge_base=kb,
                name=name,
                file=stored,
                file_type=file_type,
                size=len(data),
                uploaded_by=actor if getattr(actor, "pk", None) else None,
            )
            KnowledgeBase.objects.filter(pk=kb.pk).update(
                document_count=F("document_count") + 1, updated_at=timezone.now()
            )
            audit_log_write(
                organization=kb.organization,
                actor=actor,
                action="knowledge_document.upload",
                target=document,
                data={"name": name, "type": file_type, "size": len(data)},
            )
            _enqueue_processing(document)
    except BaseException:
        default_storage.delete(stored)
        raise
    return document


def _enqueue_processing(document: Document) -> None:
    from automation.knowledge import tasks

    enqueue_after_commit(tasks.process_document, document.organization_id, document.pk)


def document_delete(*, document: Document, actor) -> None:
    """Delete a document, its chunks, and (after the commit) its file; the knowledge base's counts follow."""
    with transaction.atomic():
        kb = _locked(document.knowledge_base)
        fresh = Document.objects.select_for_update().filter(organization_id=kb.organization_id, pk=document.pk).first()
        if fresh is None:
            raise ServiceError("Not found.", status_code=404, code="not_found")
        chunks = Chunk.objects.filter(document=fresh).count()
        audit_log_write(
            organization=kb.organization,
            actor=actor,
            action="knowledge_document.delete",
            target=fresh,
            data={"name": fresh.name},
        )
        fresh.delete()
        plans.usage_storage_add(organization_id=kb.organization_id, delta=-fresh.size)
        KnowledgeBase.objects.filter(pk=kb.pk).update(
            document_count=F("document_count") - 1,
            chunk_count=F("chunk_count") - chunks,
            version=_new_version(),
            updated_at=timezone.now(),
        )
        if fresh.file:
            files_delete_on_commit({fresh.file.name})


def files_delete_on_commit(names: set[str]) -> None:
    if names:
        run_after_commit(lambda: _files_delete(names), what="knowledge files erase")


def _files_delete(names: set[str]) -> None:
    for name in sorted(names):
        default_storage.delete(name)


def organization_documents_delete_on_commit(*, organization: Organization) -> None:
    """accounts.hooks.organization_deleting: the organization's document files go after the commit that deletes its
    rows. Must be called inside that transaction, before the rows go."""
    files_delete_on_commit(set(Document.objects.for_org(organization).exclude(file="").values_list("file", flat=True)))


# --- processing --------------------------------------------------------------------------------------------------


def _claim(organization_id: int, document_id: int) -> Document | None:
    """Take a pending document (or one whose processing died) for processing; None when it is not to be processed
    (done, failed, deleted, or being processed by a live task). Idempotent: a second task finds nothing to claim."""
    now = timezone.now()
    rows = Document.objects.filter(organization_id=organization_id, pk=document_id)
    claimed = rows.filter(status=Document.Status.PENDING).update(
        status=Document.Status.PROCESSING, processing_started_at=now, attempts=F("attempts") + 1
    ) or rows.filter(status=Document.Status.PROCESSING, processing_started_at__lt=now - PROCESSING_GRACE).update(
        processing_started_at=now, attempts=F("attempts") + 1
    )
    if not claimed:
        return None
    return rows.select_related("knowledge_base").first()


def _vectors(document: Document, texts: list[str]) -> tuple[list[bytes | None], str, str]:
    """The chunks' vectors as float32 bytes with the model that made them, and a warning when they could not be
    made (the document is searchable without them)."""
    organization = document.organization
    if not llm.embeddings_configured(organization):
        return [None] * len(texts), "", ""
    model = llm.embedding_model_for(organization)
    try:
        vectors = llm.embed(organization=organization, texts=texts)
    except llm.LLMError as exc:
        logger.warning("knowledge: document %s without vectors (%s)", document.pk, exc.code)
        warning = gettext("Searchable by its words only: the vectors could not be made (%(reason)s)") % {
            "reason": exc.detail
        }
        return [None] * len(texts), "", warning[:500]
    return [np.asarray(v, dtype=np.float32).tobytes() for v in vectors], model, ""


def document_process(*, organization_id: int, document_id: int) -> None:
    """The processing task's work: extract the text, split it, make the search tokens (and vectors with an embedding
    model), then store the chunks and mark the document `ready`, or `failed` with the reason. Safe to run twice."""
    document = _claim(organization_id, document_id)
    if document is None:
        return
    try:
        with default_storage.open(document.file.name, "rb") as stored:
            data = stored.read()
        extracted = extract(data, document.file_type)
        drafts = split(extracted.sections)
        if len(drafts) > MAX_CHUNKS:
            raise ExtractionError(gettext("The document is too long: split it into smaller files."))
    except ExtractionError as exc:
        _finish_failed(document, str(exc))
        return
    except FileNotFoundError:
        _finish_failed(document, gettext("The stored file is missing: upload the document again."))
        return
    texts = [f"{draft.heading}\n{draft.text}" if draft.heading else draft.text for draft in drafts]
    vectors, model, warning = _vectors(document, texts)
    chunks = [
        Chunk(
            organization_id=organization_id,
            knowledge_base_id=document.knowledge_base_id,
            document_id=document.pk,
            position=draft.position,
            text=draft.text,
            page=draft.page,
            heading=draft.heading[:300],
            tokens=" ".join(tokens(text)),
            vector=vector,
            embedding_model=model if vector is not None else "",
        )
        for draft, text, vector in zip(drafts, texts, vectors, strict=True)
    ]
    with transaction.atomic():
        kb = KnowledgeBase.objects.select_for_update().filter(pk=document.knowledge_base_id).first()
        current = Document.objects.select_for_update().filter(pk=document.pk).first()
        if kb is None or current is None or current.status != Document.Status.PROCESSING:
            return  # deleted (or finished by another run) meanwhile
        replaced = Chunk.objects.filter(document=current).count()
        Chunk.objects.filter(document=current).delete()
        Chunk.objects.bulk_create(chunks, batch_size=500)
        Document.objects.filter(pk=current.pk).update(
            status=Document.Status.READY,
            error="",
            warning=warning,
            chunk_count=len(chunks),
            page_count=extracted.page_count,
            processed_at=timezone.now(),
        )
        KnowledgeBase.objects.filter(pk=kb.pk).update(
            chunk_count=F("chunk_count") + len(chunks) - replaced, version=_new_version(), updated_at=timezone.now()
        )


def _finish_failed(document: Document, reason: str) -> None:
    Document.objects.filter(pk=document.pk, status=Document.Status.PROCESSING).update(
        status=Document.Status.FAILED, error=reason[:500], processed_at=timezone.now()
    )


def documents_sweep() -> int:
    """Beat: documents left pending (the broker was down at commit) are queued again, and those whose processing
    died are taken again, up to MAX_ATTEMPTS, then failed. Returns how many were queued."""
    now = timezone.now()
    Document.objects.filter(
        status=Document.Status.PROCESSING,
        processing_started_at__lt=now - PROCESSING_GRACE,
        attempts__gte=MAX_ATTEMPTS,
    ).update(
        status=Document.Status.FAILED,
        error=gettext("Processing the document failed several times: upload it again, or a smaller file."),
        processed_at=now,
    )
    stale = Document.objects.filter(
        status=Document.Status.PENDING, created_at__lt=now - PENDING_GRACE
    ) | Document.objects.filter(status=Document.Status.PROCESSING, processing_started_at__lt=now - PROCESSING_GRACE)
    queued = 0
    from automation.knowledge import tasks

    for organization_id, document_id in stale.values_list("organization_id", "pk")[:500]:
        tasks.process_document.delay(organization_id, document_id)
        queued += 1
    return queued
