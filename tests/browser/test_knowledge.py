"""Knowledge bases in a browser: an admin creates one, uploads a document (the upload's progress, then its status
moving to Ready without a reload) and finds a passage with the search box; the pages in Arabic, right to left; the
AI settings page."""

from playwright.sync_api import Page, expect

from automation.models.knowledge import Document
from automation.services.ai import ai_settings_save
from tests.automation.knowledge_corpus import ARABIC, ENGLISH
from tests.automation.knowledge_support import knowledge_base, processed_document
from tests.browser.harness import DemoOrg, run_outside_browser_loop


def test_an_uploaded_document_becomes_ready_and_searchable(
    page: Page, login_session, demo_org: DemoOrg, screenshot, tmp_path
):
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    login_session(page, demo_org.admin.user)
    faq = tmp_path / "help-center.md"
    faq.write_text(ENGLISH, encoding="utf-8")

    page.goto("/knowledge/")
    expect(page.get_by_role("heading", name="No knowledge bases yet")).to_be_visible()
    page.get_by_label("Name").fill("Help center")
    page.get_by_label("Description").fill("Answers to customers' questions")
    page.get_by_role("button", name="Create").click()

    expect(page.get_by_role("heading", name="Help center")).to_be_visible()
    expect(page.get_by_text("No documents yet: upload the first one above.")).to_be_visible()
    page.get_by_label("Document", exact=True).set_input_files(str(faq))
    page.get_by_role("button", name="Upload").click()

    row = page.locator("[data-documents] tr", has_text="help-center.md")
    expect(row.locator("[data-status]")).to_have_text("Ready")
    expect(row.locator("[data-chunks]")).to_have_text("8")
    expect(page.locator("[data-upload-status]")).to_have_text("Uploaded: reading the document…")
    expect(page.get_by_text("No documents yet")).to_be_hidden()
    expect(page.locator(".knowledge-counts")).to_have_text("1 document · 8 passages")
    assert Document.objects.get(name="help-center.md").status == "ready"

    page.get_by_role("searchbox", name="Question").fill("Do you take PayPal?")
    page.get_by_role("button", name="Search").click()

    hit = page.locator(".hit").first
    expect(hit.locator(".hit-text")).to_contain_text("We accept Visa, Mastercard, PayPal and bank transfers.")
    expect(hit).to_contain_text("Payment methods")
    screenshot(page, "knowledge-en", full_page=True)

    page.goto("/settings/ai/")
    page.get_by_label("API key").fill("sk-live-key-5678")
    page.get_by_label("Embedding model").fill("text-embedding-3-small")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("AI settings saved.")).to_be_visible()
    expect(page.locator(".secret-current code")).to_have_text("...5678")
    screenshot(page, "ai-settings-en", full_page=True)
    assert errors == []


def test_a_document_still_processing_shows_so_and_moves_on_its_own(page: Page, login_session, demo_org: DemoOrg):
    """A document left pending (a worker would take it): the page polls the documents API and shows Ready once the
    processing ran, without a reload."""

    def pending():
        kb = knowledge_base(demo_org.organization, "Policies")
        document = processed_document(kb, "returns.txt", b"Returns are accepted within 30 days.")
        Document.objects.filter(pk=document.pk).update(status="processing", chunk_count=0)
        return kb, document

    kb, document = run_outside_browser_loop(pending)
    login_session(page, demo_org.agent.user)
    page.goto(f"/knowledge/{kb.pk}/")
    badge = page.locator(f'[data-document="{document.pk}"] [data-status]')
    expect(badge).to_have_text("Processing")

    Document.objects.filter(pk=document.pk).update(status="ready", chunk_count=1)

    expect(badge).to_have_text("Ready")
    expect(page.locator(f'[data-document="{document.pk}"] [data-chunks]')).to_have_text("1")


def test_the_pages_in_arabic(arabic_page: Page, login_session, demo_org: DemoOrg, screenshot):
    def setup():
        kb = knowledge_base(demo_org.organization, "مركز المساعدة", description="أجوبة أسئلة العملاء")
        processed_document(kb, "الأسئلة-الشائعة.md", ARABIC.encode())
        ai_settings_save(organization=demo_org.organization, actor=None, api_key="sk-demo-key-4242")
        return kb

    kb = run_outside_browser_loop(setup)
    page = arabic_page
    login_session(page, demo_org.admin.user)

    page.goto("/knowledge/")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    screenshot(page, "knowledge-list-ar")
    page.goto(f"/knowledge/{kb.pk}/?q=كم يستغرق الشحن؟")
    expect(page.locator(".hit").first).to_contain_text("يستغرق الشحن العادي")
    screenshot(page, "knowledge-ar", full_page=True)
    page.goto("/settings/ai/")
    expect(page.locator(".secret-current code")).to_have_text("...4242")
    screenshot(page, "ai-settings-ar", full_page=True)
