"""The knowledge bases' pages and Settings > AI: who sees and does what, the forms' paths without JavaScript, and
what the pages show (statuses, search hits with scores, the masked key, usage)."""

from django.core.files.uploadedfile import SimpleUploadedFile

from automation.models.ai import AISettings, AIUsage
from automation.models.knowledge import Document, KnowledgeBase
from automation.selectors.ai import organization_today
from automation.services.ai import ai_settings_save
from tests.automation.knowledge_corpus import ENGLISH
from tests.automation.knowledge_support import knowledge_base, pdf_with_text, processed_document, scanned_pdf
from tests.conftest import signed_in


def test_every_member_sees_the_knowledge_bases_but_only_admins_the_new_form(org, admin_membership, agent_membership):
    knowledge_base(org, "Shipping FAQ", description="Delivery questions")

    agent_page = signed_in(agent_membership).get("/knowledge/")
    admin_page = signed_in(admin_membership).get("/knowledge/")

    assert agent_page.status_code == admin_page.status_code == 200
    assert "Shipping FAQ" in agent_page.text and "Delivery questions" in agent_page.text
    assert "New knowledge base" not in agent_page.text
    assert "New knowledge base" in admin_page.text
    assert 'href="/knowledge/"' in agent_page.text  # the navigation rail


def test_an_admin_creates_one_from_the_page(org, admin_membership):
    response = signed_in(admin_membership).post("/knowledge/", {"name": "Policies", "description": ""})

    kb = KnowledgeBase.objects.get(organization=org)
    assert response.status_code == 302 and response.url == f"/knowledge/{kb.pk}/"
    assert kb.name == "Policies"


def test_an_agent_posting_the_form_creates_nothing(org, agent_membership):
    signed_in(agent_membership).post("/knowledge/", {"name": "Sneaky"})

    assert KnowledgeBase.objects.count() == 0


def test_the_page_shows_documents_with_their_statuses_and_reasons(org, agent_membership):
    kb = knowledge_base(org)
    processed_document(kb, "faq.md", ENGLISH.encode())
    processed_document(kb, "scan.pdf", scanned_pdf())

    page = signed_in(agent_membership).get(f"/knowledge/{kb.pk}/")

    assert page.status_code == 200
    text = page.text
    assert "faq.md" in text and "scan.pdf" in text
    assert '<span class="badge badge-success" data-status="ready">Ready</span>' in text
    assert '<span class="badge badge-danger" data-status="failed">Failed</span>' in text
    assert "The PDF has no text layer (a scanned document?)" in text
    assert "Upload a document" not in text  # agents read and search only
    assert "Delete this knowledge base" not in text


def test_the_search_box_shows_the_passages_with_their_scores(org, agent_membership):
    kb = knowledge_base(org)
    processed_document(kb, "faq.md", ENGLISH.encode())

    page = signed_in(agent_membership).get(f"/knowledge/{kb.pk}/", {"q": "PayPal"})
    nothing = signed_in(agent_membership).get(f"/knowledge/{kb.pk}/", {"q": "submarine"})

    assert '<span class="badge badge-accent num hit-score" title="Score">1.00</span>' in page.text
    assert "We accept Visa, Mastercard, PayPal and bank transfers." in page.text
    assert "No passage matches: a bot would hand this question over to a person." in nothing.text


def test_an_upload_without_javascript_goes_through_the_page(org, admin_membership):
    kb = knowledge_base(org)
    data = pdf_with_text([["Opening hours: nine to five"]])

    response = signed_in(admin_membership).post(
        f"/knowledge/{kb.pk}/", {"action": "upload", "file": SimpleUploadedFile("hours.pdf", data)}
    )

    assert response.status_code == 302
    document = Document.objects.get(knowledge_base=kb)
    assert (document.name, document.file_type, document.status) == ("hours.pdf", "pdf", "pending")


def test_a_refused_upload_says_why_next_to_the_field(org, admin_membership):
    kb = knowledge_base(org)

    response = signed_in(admin_membership).post(
        f"/knowledge/{kb.pk}/",
        {"action": "upload", "file": SimpleUploadedFile("photo.pdf", b"\x89PNG\r\n\x1a\n" + bytes(40))},
    )

    assert response.status_code == 200
    assert "Images are not taken: upload a PDF, DOCX, TXT or Markdown file." in response.text
    assert Document.objects.count() == 0


def test_an_admin_edits_deletes_a_document_and_the_knowledge_base(org, admin_membership):
    kb = knowledge_base(org)
    document = processed_document(kb, "faq.md", ENGLISH.encode())
    browser = signed_in(admin_membership)

    browser.post(f"/knowledge/{kb.pk}/", {"action": "edit", "name": "FAQ", "description": "", "active": ""})
    kb.refresh_from_db()
    assert (kb.name, kb.active) == ("FAQ", False)

    browser.post(f"/knowledge/{kb.pk}/documents/{document.pk}/delete/")
    assert not Document.objects.filter(pk=document.pk).exists()

    browser.post(f"/knowledge/{kb.pk}/delete/", {"confirm": "wrong"})
    assert KnowledgeBase.objects.filter(pk=kb.pk).exists()
    response = browser.post(f"/knowledge/{kb.pk}/delete/", {"confirm": "FAQ"})
    assert response.url == "/knowledge/"
    assert not KnowledgeBase.objects.filter(pk=kb.pk).exists()


def test_agents_may_not_delete(org, agent_membership):
    kb = knowledge_base(org)
    document = processed_document(kb, "faq.md", ENGLISH.encode())
    browser = signed_in(agent_membership)

    assert browser.post(f"/knowledge/{kb.pk}/documents/{document.pk}/delete/").status_code == 403
    assert browser.post(f"/knowledge/{kb.pk}/delete/", {"confirm": kb.name}).status_code == 403
    assert Document.objects.filter(pk=document.pk).exists()


# --- Settings > AI ---------------------------------------------------------------------------------------------------


def test_the_ai_settings_page_shows_the_key_masked_and_the_usage(org, admin_membership):
    ai_settings_save(organization=org, actor=None, api_key="sk-proj-secret-9876", embedding_model="emb-3")
    AIUsage.objects.create(
        organization=org, day=organization_today(org), model="gpt-4o-mini", prompt_tokens=1200, completion_tokens=300,
        requests=4,
    )  # fmt: skip

    page = signed_in(admin_membership).get("/settings/ai/")

    assert page.status_code == 200
    assert '<code class="ltr">...9876</code>' in page.text
    assert "sk-proj" not in page.text
    assert '<td class="num">1200</td>' in page.text and '<td class="num">300</td>' in page.text
    assert 'value="emb-3"' in page.text


def test_the_ai_settings_page_saves_keeps_or_removes_the_key(org, admin_membership):
    ai_settings_save(organization=org, actor=None, api_key="sk-kept-1111")
    browser = signed_in(admin_membership)

    browser.post("/settings/ai/", {"base_url": "", "api_key": "", "chat_model": "gpt-4o", "embedding_model": ""})
    row = AISettings.objects.get(organization=org)
    assert (row.api_key, row.chat_model) == ("sk-kept-1111", "gpt-4o")

    browser.post("/settings/ai/", {"api_key": "", "remove_key": "on", "chat_model": "gpt-4o"})
    row.refresh_from_db()
    assert row.api_key == ""


def test_a_private_base_url_is_refused_next_to_its_field(org, admin_membership):
    response = signed_in(admin_membership).post(
        "/settings/ai/", {"base_url": "http://192.168.1.10:11434/v1", "chat_model": "llama3.2"}
    )

    assert response.status_code == 200
    assert "The host must resolve to public addresses only" in response.text
    assert not AISettings.objects.exists()


def test_the_ai_settings_page_is_for_admins(agent_membership):
    assert signed_in(agent_membership).get("/settings/ai/").status_code == 403
