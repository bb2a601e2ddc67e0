"""The CRM pages in a real browser: a deal moved across the board by drag and drop and by its "Move to" select (a
lost one asks its reason in a dialog), a deal created from a conversation in the inbox's contact panel, the
businesses pages; the board in Arabic."""

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Role
from crm import services
from crm.models import Deal, DealHistory
from messaging.models import Conversation
from tests.browser import test_inbox
from tests.browser.harness import run_outside_browser_loop
from tests.browser.test_inbox import customer_writes, open_inbox, row
from tests.crm import support
from tests.crm.support import business
from tests.factories import MembershipFactory, UserFactory
from tests.messaging.factories import ContactFactory

cloud_number = test_inbox.cloud_number  # the fixture: a Cloud API number of the fake Graph API


@pytest.fixture
def agent(org):
    return MembershipFactory(organization=org, role=Role.AGENT, user=UserFactory(name="Omar Haddad"))


def deal(org, **fields) -> Deal:
    """A deal made as the API would (its move published), outside Playwright's loop."""
    return run_outside_browser_loop(support.deal, org, **fields)


def _column(page: Page, name: str):
    return page.locator(".crm-column", has=page.locator("h2", has_text=name))


def _card(page: Page, title: str):
    return page.locator(".crm-card", has_text=title)


def test_a_deal_is_dragged_to_another_stage_and_moved_by_its_select(page: Page, login_session, agent, org, screenshot):
    moved = deal(org, title="Fleet renewal", value="1250.00")
    deal(org, title="Website redesign", value="300.00", currency="EUR")
    login_session(page, agent.user)
    page.goto("/deals/")
    expect(_column(page, "New").locator("[data-count]")).to_have_text("2")

    _card(page, "Fleet renewal").drag_to(_column(page, "Qualified"))
    expect(_column(page, "Qualified")).to_contain_text("Fleet renewal")
    expect(_column(page, "Qualified").locator("[data-total]")).to_have_text("1250.00 USD")
    expect(_column(page, "New").locator("[data-count]")).to_have_text("1")

    _card(page, "Fleet renewal").get_by_label("Move to: Fleet renewal").select_option(label="Proposal")
    expect(_column(page, "Proposal")).to_contain_text("Fleet renewal")
    screenshot(page, "crm-board")
    page.get_by_role("link", name="Fleet renewal").click()
    expect(page.locator("[data-history] li")).to_have_count(3)
    screenshot(page, "crm-deal")
    assert list(DealHistory.objects.filter(deal=moved).values_list("to_stage_name", flat=True)) == [
        "New",
        "Qualified",
        "Proposal",
    ]


def test_a_deal_moved_to_lost_asks_its_reason_in_a_dialog(page: Page, login_session, agent, org):
    lost = deal(org, title="Fleet renewal")
    kept = deal(org, title="Website redesign")
    login_session(page, agent.user)
    page.goto("/deals/")
    _card(page, "Website redesign").get_by_label("Move to: Website redesign").select_option(label="Lost")
    dialog = page.get_by_role("dialog", name="Why was this deal lost?")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(_column(page, "New")).to_contain_text("Website redesign")

    _card(page, "Fleet renewal").get_by_label("Move to: Fleet renewal").select_option(label="Lost")
    dialog.get_by_role("textbox").fill("Chose a cheaper offer")
    dialog.get_by_role("button", name="Mark as lost").click()
    expect(_column(page, "Lost")).to_contain_text("Fleet renewal")
    lost.refresh_from_db()
    kept.refresh_from_db()
    assert (lost.status, lost.lost_reason, kept.status) == ("lost", "Chose a cheaper offer", "open")


def test_a_deal_is_created_from_a_conversation_in_the_inbox(
    page: Page, login_session, agent, org, cloud_number, fake_meta, screenshot
):
    customer_writes(fake_meta, "I want 20 licences")
    conversation = Conversation.objects.get(organization=org)
    company = business(org, name="Nelson Logistics")
    services.contact_set_business(contact=conversation.contact, business=company)
    deal(org, title="Support plan", contact=conversation.contact)
    open_inbox(page, login_session, agent)
    row(page, "Sheena Nelson").click()
    panel = page.locator("#crm-panel")
    expect(panel.get_by_role("link", name="Nelson Logistics")).to_be_visible()
    expect(panel.locator("[data-deal]")).to_have_count(1)

    panel.get_by_text("Create deal from this conversation").click()
    panel.get_by_label("Title").fill("20 licences")
    panel.get_by_label("Value").fill("2400")
    panel.get_by_role("button", name="Create deal").click()
    expect(panel.locator("[data-deal]")).to_have_count(2)
    expect(panel.locator("[data-deal]", has_text="20 licences")).to_contain_text("2400.00 USD")
    screenshot(page, "crm-inbox-panel")
    made = Deal.objects.get(title="20 licences")
    assert (made.conversation_id, made.contact_id, made.business_id, made.source) == (
        conversation.pk,
        conversation.contact_id,
        company.pk,
        "conversation",
    )


def test_the_businesses_pages(page: Page, login_session, agent, org, screenshot):
    company = business(org, name="Nelson Logistics", industry="Transport", tags=["vip"])
    alice = ContactFactory(organization=org, name="Alice Nelson", phone="+966501234567")
    services.contact_set_business(contact=alice, business=company)
    deal(org, title="Fleet renewal", business=company, contact=alice)
    business(org, name="Blue Bakery")
    login_session(page, agent.user)
    page.goto("/businesses/")
    screenshot(page, "crm-businesses")
    page.get_by_placeholder("Name").fill("nelson")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    page.get_by_role("link", name="Nelson Logistics").click()
    expect(page.get_by_role("link", name="Alice Nelson")).to_be_visible()
    expect(page.get_by_role("link", name="Fleet renewal")).to_be_visible()
    page.get_by_label("Website").fill("https://nelson.example")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Changes saved.")).to_be_visible()
    screenshot(page, "crm-business", full_page=True)
    company.refresh_from_db()
    assert company.website == "https://nelson.example"


def test_the_crm_pages_in_arabic(arabic_page: Page, login_session, agent, org, screenshot):
    company = business(org, name="شركة النور للتجارة", industry="تجزئة")
    alice = ContactFactory(organization=org, name="ليلى خالد", phone="+966501234567")
    services.contact_set_business(contact=alice, business=company)
    made = deal(org, title="تجديد الأسطول", value="1250.00", currency="SAR", business=company, contact=alice)
    deal(org, title="Website redesign", value="300.00", currency="USD")
    login_session(arabic_page, agent.user)
    arabic_page.goto("/deals/")
    expect(arabic_page.locator("html")).to_have_attribute("dir", "rtl")
    expect(arabic_page.locator(".crm-column").first.locator("[data-count]")).to_have_text("2")
    screenshot(arabic_page, "crm-board-ar")
    arabic_page.goto(f"/deals/{made.pk}/")
    screenshot(arabic_page, "crm-deal-ar")
    arabic_page.goto("/businesses/")
    screenshot(arabic_page, "crm-businesses-ar")
    arabic_page.goto(f"/businesses/{company.pk}/")
    expect(arabic_page.get_by_role("link", name="تجديد الأسطول")).to_be_visible()
    screenshot(arabic_page, "crm-business-ar", full_page=True)
