"""The knowledge bases API: roles, CRUD in the seed's shapes, upload (multipart, type by content, size), processing
in the background task, documents and their statuses, deleting documents (chunks and files go), and search."""

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from accounts.models import AuditLog
from automation.models.knowledge import Chunk, Document, KnowledgeBase
from automation.services import knowledge as services
from tests.automation.knowledge_corpus import ENGLISH
from tests.automation.knowledge_support import (
    docx_file,
    encrypted_pdf,
    knowledge_base,
    pdf_with_text,
    processed_document,
    scanned_pdf,
    upload,
)


def _upload(client, kb, name, data, *, capture=None):
    return client.post(f"/api/v1/knowledge-bases/{kb.pk}/upload", {"file": upload(name, data)}, format="multipart")


@pytest.fixture
def kb(org):
    return knowledge_base(org, description="FAQ")


def test_an_admin_creates_a_knowledge_base_in_the_seeds_shape(org, admin_client, admin_membership):
    response = admin_client.post(
        "/api/v1/knowledge-bases", {"name": " Product FAQ ", "description": "Frequently asked"}, format="json"
    )

    assert response.status_code == 201
    kb = KnowledgeBase.objects.get(organization=org)
    assert response.json() == {
        "id": kb.pk,
        "name": "Product FAQ",
        "description": "Frequently asked",
        "is_active": True,
        "document_count": 0,
        "total_chunks": 0,
        "created_at": response.json()["created_at"],
        "updated_at": response.json()["updated_at"],
    }
    assert (
        AuditLog.objects.filter(organization=org, action="knowledge_base.create", actor=admin_membership.user).count()
        == 1
    )


def test_an_admin_renames_and_deactivates_it(kb, admin_client):
    response = admin_client.patch(
        f"/api/v1/knowledge-bases/{kb.pk}", {"name": "Old FAQ", "is_active": False}, format="json"
    )

    assert (response.json()["name"], response.json()["is_active"]) == ("Old FAQ", False)
    kb.refresh_from_db()
    assert (kb.name, kb.active, kb.description) == ("Old FAQ", False, "FAQ")


def test_members_read_and_search_but_only_admins_write(kb, agent_client, marketing_client):
    processed_document(kb, "faq.md", ENGLISH.encode())

    assert agent_client.get("/api/v1/knowledge-bases").json()["count"] == 1
    assert agent_client.get(f"/api/v1/knowledge-bases/{kb.pk}/documents").status_code == 200
    assert agent_client.get(f"/api/v1/knowledge-bases/{kb.pk}/search", {"q": "PayPal"}).status_code == 200
    document = kb.documents.get()
    for client in (agent_client, marketing_client):
        assert client.post("/api/v1/knowledge-bases", {"name": "x"}, format="json").status_code == 403
        assert client.patch(f"/api/v1/knowledge-bases/{kb.pk}", {"name": "x"}, format="json").status_code == 403
        assert _upload(client, kb, "a.txt", b"hello").status_code == 403
        assert client.delete(f"/api/v1/knowledge-bases/{kb.pk}/documents/{document.pk}").status_code == 403
        assert client.delete(f"/api/v1/knowledge-bases/{kb.pk}").status_code == 403
    kb.refresh_from_db()
    assert (kb.name, kb.document_count, Document.objects.count()) == ("Help center", 1, 1)


def test_an_upload_is_stored_pending_and_processed_after_the_commit(
    kb, admin_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(admin_client, kb, "faq.md", ENGLISH.encode())

    assert response.status_code == 201
    body = response.json()
    document = Document.objects.get(pk=body["id"])
    assert body == {
        "id": document.pk,
        "knowledge_base_id": kb.pk,
        "filename": "faq.md",
        "file_type": "md",
        "file_size": len(ENGLISH.encode()),
        "status": "pending",  # as stored by the request; the task ran after its commit
        "error": "",
        "warning": "",
        "chunk_count": 0,
        "page_count": None,
        "created_at": body["created_at"],
        "processed_at": None,
    }
    assert (document.status, document.chunk_count) == ("ready", 8)
    kb.refresh_from_db()
    assert (kb.document_count, kb.chunk_count) == (1, 8)
    listed = admin_client.get(f"/api/v1/knowledge-bases/{kb.pk}/documents").json()
    assert [(d["filename"], d["status"], d["chunk_count"]) for d in listed["results"]] == [("faq.md", "ready", 8)]
    assert admin_client.get(f"/api/v1/knowledge-bases/{kb.pk}").json()["total_chunks"] == 8


@pytest.mark.parametrize(
    ("name", "data", "file_type", "pages"),
    [
        ("guide.pdf", pdf_with_text([["Shipping takes three days"], ["الشحن خلال ثلاثة أيام"]]), "pdf", 2),
        ("guide.docx", docx_file([("heading", "Shipping"), ("paragraph", "Shipping takes three days")]), "docx", None),
        ("guide.txt", "الشحن خلال ثلاثة أيام".encode(), "txt", None),
    ],
)
def test_each_file_type_becomes_ready_and_searchable(kb, admin_client, name, data, file_type, pages):
    document = processed_document(kb, name, data)

    assert (document.status, document.file_type, document.page_count, document.error) == ("ready", file_type, pages, "")
    found = admin_client.get(
        f"/api/v1/knowledge-bases/{kb.pk}/search", {"q": "الشحن" if file_type == "txt" else "shipping"}
    )
    assert [hit["document_name"] for hit in found.json()["results"]] == [name]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (scanned_pdf(), "The PDF has no text layer (a scanned document?)"),
        (encrypted_pdf(), "The PDF is protected with a password"),
        (b"%PDF-1.4 broken", "The PDF could not be read"),
    ],
)
def test_a_document_that_cannot_be_read_fails_with_the_reason(kb, admin_client, data, reason):
    document = processed_document(kb, "scan.pdf", data)

    assert document.status == "failed"
    assert document.error.startswith(reason)
    assert document.chunk_count == 0
    shown = admin_client.get(f"/api/v1/knowledge-bases/{kb.pk}/documents/{document.pk}").json()
    assert (shown["status"], shown["error"]) == ("failed", document.error)


def test_the_type_is_checked_by_content_not_name(kb, admin_client):
    response = _upload(admin_client, kb, "photo.pdf", b"\x89PNG\r\n\x1a\n" + bytes(64))

    assert response.status_code == 400
    assert response.json()["errors"] == {"file": ["Images are not taken: upload a PDF, DOCX, TXT or Markdown file."]}
    assert Document.objects.count() == 0


def test_a_file_over_ten_megabytes_is_refused(kb, admin_client):
    response = _upload(admin_client, kb, "big.txt", b"a" * (10 * 1024 * 1024 + 1))

    assert response.status_code == 413
    assert response.json()["detail"] == "The file is too large: at most 10 MB."
    assert Document.objects.count() == 0


def test_deleting_a_document_removes_its_chunks_and_its_file(kb, admin_client, django_capture_on_commit_callbacks):
    keep = processed_document(kb, "keep.txt", b"Opening hours are nine to five.")
    gone = processed_document(kb, "gone.md", ENGLISH.encode())
    assert default_storage.exists(gone.file.name)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.delete(f"/api/v1/knowledge-bases/{kb.pk}/documents/{gone.pk}")

    assert response.status_code == 204
    assert not Document.objects.filter(pk=gone.pk).exists()
    assert Chunk.objects.filter(document_id=gone.pk).count() == 0
    assert not default_storage.exists(gone.file.name)
    assert default_storage.exists(keep.file.name)
    kb.refresh_from_db()
    assert (kb.document_count, kb.chunk_count) == (1, 1)
    assert admin_client.get(f"/api/v1/knowledge-bases/{kb.pk}/search", {"q": "PayPal"}).json()["results"] == []


def test_deleting_a_knowledge_base_removes_its_files(kb, admin_client, django_capture_on_commit_callbacks):
    document = processed_document(kb, "faq.md", ENGLISH.encode())

    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.delete(f"/api/v1/knowledge-bases/{kb.pk}").status_code == 204

    assert (KnowledgeBase.objects.count(), Document.objects.count(), Chunk.objects.count()) == (0, 0, 0)
    assert not default_storage.exists(document.file.name)


def test_deleting_an_organization_removes_its_document_files(kb, org, django_capture_on_commit_callbacks):
    from accounts import services as account_services

    document = processed_document(kb, "faq.md", ENGLISH.encode())

    with django_capture_on_commit_callbacks(execute=True):
        account_services.organization_delete(organization=org)

    assert not default_storage.exists(document.file.name)


def test_a_document_of_another_knowledge_base_is_not_found_through_this_one(org, kb, admin_client):
    other = knowledge_base(org, "Other")
    document = processed_document(other, "o.txt", b"Other text here")

    assert admin_client.get(f"/api/v1/knowledge-bases/{kb.pk}/documents/{document.pk}").status_code == 404
    assert admin_client.delete(f"/api/v1/knowledge-bases/{kb.pk}/documents/{document.pk}").status_code == 404
    assert Document.objects.filter(pk=document.pk).exists()


def test_search_answers_the_top_passages_with_scores(kb, admin_client):
    processed_document(kb, "faq.md", ENGLISH.encode())

    body = admin_client.get(f"/api/v1/knowledge-bases/{kb.pk}/search", {"q": "Do you take PayPal?", "limit": 5}).json()

    assert (body["query"], body["mode"]) == ("Do you take PayPal?", "bm25")
    first, second = body["results"]  # PayPal's passage; and "Standard shipping takes..."
    assert (first["heading"], first["document_name"], first["page"]) == ("Payment methods", "faq.md", None)
    assert second["heading"] == "Delivery times"
    assert 0.5 < first["score"] < 1.0  # "take" is not in it
    assert 0 < second["score"] < 0.5  # nor "PayPal", the rarer word, in this one
    assert (
        admin_client.get(f"/api/v1/knowledge-bases/{kb.pk}/search", {"q": "PayPal"}).json()["results"][0]["score"]
        == 1.0
    )
    assert admin_client.get(f"/api/v1/knowledge-bases/{kb.pk}/search").json()["results"] == []
    assert admin_client.get(f"/api/v1/knowledge-bases/{kb.pk}/search", {"limit": 0}).status_code == 400


def test_processing_twice_changes_nothing(kb):
    document = processed_document(kb, "faq.md", ENGLISH.encode())

    services.document_process(organization_id=kb.organization_id, document_id=document.pk)

    kb.refresh_from_db()
    assert (Chunk.objects.filter(document=document).count(), kb.chunk_count) == (8, 8)


def test_the_sweeper_queues_documents_left_pending(kb, frozen, task_runs):
    document = services.document_upload(knowledge_base=kb, actor=None, file=upload("faq.md", ENGLISH.encode()))
    assert services.documents_sweep() == 0  # not late yet

    frozen.shift(services.PENDING_GRACE + timezone.timedelta(seconds=1))
    assert services.documents_sweep() == 1

    document.refresh_from_db()
    assert document.status == "ready"
    assert [run[0] for run in task_runs] == ["automation.knowledge.tasks.process_document"]


def test_a_document_whose_processing_keeps_dying_fails(kb, frozen):
    document = services.document_upload(knowledge_base=kb, actor=None, file=upload("faq.md", ENGLISH.encode()))
    Document.objects.filter(pk=document.pk).update(
        status="processing", processing_started_at=timezone.now(), attempts=services.MAX_ATTEMPTS
    )
    frozen.shift(services.PROCESSING_GRACE + timezone.timedelta(seconds=1))

    assert services.documents_sweep() == 0

    document.refresh_from_db()
    assert (document.status, document.error) == (
        "failed",
        "Processing the document failed several times: upload it again, or a smaller file.",
    )
