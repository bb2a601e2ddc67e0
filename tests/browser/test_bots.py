"""The bots pages in a real browser: create a bot, add a scenario in its editor, ask its test chat (a scenario's
answer, and an answer from a document of its knowledge base, with its source), in English and Arabic; the inbox's
bot control (paused by a handoff, resumed)."""

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Role
from automation.models import Bot, BotConversation, BotScenario
from automation.services import bots as bot_services
from automation.services import knowledge as knowledge_services
from tests.automation.knowledge_support import upload
from tests.browser import test_inbox
from tests.browser.test_inbox import customer_writes, eventually, open_inbox, row, unread_count
from tests.factories import MembershipFactory, UserFactory

cloud_number = test_inbox.cloud_number  # the fixture: a Cloud API number of the fake Graph API
FAQ = """# Delivery

We deliver to every city in Saudi Arabia within two to four working days. Delivery is free above 200 SAR.

# Returns

Items can be returned within 30 days with the receipt.
"""


@pytest.fixture
def admin(org):
    return MembershipFactory(organization=org, role=Role.ADMIN, user=UserFactory(name="Layla Admin"))


def test_an_admin_creates_a_bot_adds_a_scenario_and_asks_the_test_chat(
    page: Page, login_session, admin, org, screenshot
):
    login_session(page, admin.user)
    page.goto("/automation/bots/")
    expect(page.get_by_role("heading", name="No bots yet")).to_be_visible()
    page.get_by_role("link", name="New bot").click()
    page.get_by_label("Name").fill("Support bot")
    page.get_by_label("Instructions (system prompt)").fill("You are Acme's assistant.")
    page.get_by_role("button", name="Create").click()

    expect(page.get_by_role("heading", name="Support bot")).to_be_visible()
    bot = Bot.objects.get(organization=org)
    assert (bot.system_prompt, bot.handoff_keywords) == ("You are Acme's assistant.", ["agent", "human", "موظف"])

    page.wait_for_load_state()  # its script has run: before, "Add a scenario" opens nothing
    page.get_by_role("button", name="Add a scenario").click()
    dialog = page.locator("#scenario-dialog")
    dialog.get_by_label("Keywords (separated by commas)").fill("hours, ساعات العمل")
    dialog.get_by_label("Text").fill("We open at 9, Sunday to Thursday.")
    dialog.get_by_role("button", name="Save the scenario").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#scenario-list .scenario")).to_have_count(1)
    expect(page.locator("#scenario-list")).to_contain_text("hours, ساعات العمل")
    assert list(BotScenario.objects.values_list("values", flat=True)) == [["hours", "ساعات العمل"]]

    page.get_by_label("Message", exact=True).fill("HOURS")
    page.get_by_label("Message", exact=True).press("Enter")
    answer = page.locator("#chat-log .chat-bot").last
    expect(answer).to_contain_text("We open at 9, Sunday to Thursday.")
    expect(answer.locator(".chat-outcome")).to_have_text("Scenario")

    page.get_by_label("Message", exact=True).fill("I want an agent")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#chat-log .chat-bot").last.locator(".chat-outcome")).to_have_text("Hands over to your team")
    screenshot(page, "bots-detail", full_page=True)


def test_a_refused_scenario_shows_the_reason_next_to_its_field(page: Page, login_session, admin, org):
    bot = bot_services.bot_create(organization=org, actor=None, name="Support bot")
    login_session(page, admin.user)
    page.goto(f"/automation/bots/{bot.pk}/")

    page.get_by_role("button", name="Add a scenario").click()
    dialog = page.locator("#scenario-dialog")
    dialog.get_by_label("When the customer sends").select_option("regex")
    dialog.get_by_label("Regular expression").fill("(a+)+b")
    dialog.get_by_label("Text").fill("x")
    dialog.get_by_role("button", name="Save the scenario").click()

    expect(dialog.locator('[data-field="pattern"] .error')).to_contain_text("may not hold another unbounded repeat")
    assert not BotScenario.objects.exists()


def test_the_bots_pages_in_arabic(arabic_page: Page, login_session, admin, org, screenshot):
    bot = bot_services.bot_create(organization=org, actor=None, name="مساعد المبيعات")
    bot_services.scenario_create(
        bot=bot,
        actor=None,
        trigger="keyword",
        values=["سعر", "price"],
        reply={"type": "text", "text": "يبدأ السعر من ٤٩ ريالًا."},
    )
    login_session(arabic_page, admin.user)

    arabic_page.goto("/automation/bots/")
    expect(arabic_page.locator("html")).to_have_attribute("dir", "rtl")
    expect(arabic_page.get_by_role("link", name="مساعد المبيعات")).to_be_visible()
    screenshot(arabic_page, "bots-list-ar")
    arabic_page.get_by_role("link", name="مساعد المبيعات").click()
    arabic_page.wait_for_url("**/bots/*/")  # loaded: before its script runs, Enter would submit the try-it form
    arabic_page.locator("#chat-input").fill("سعر")
    arabic_page.locator("#chat-input").press("Enter")
    expect(arabic_page.locator("#chat-log .chat-bot").last).to_contain_text("يبدأ السعر من ٤٩ ريالًا.")
    screenshot(arabic_page, "bots-detail-ar", full_page=True)


def test_the_test_chat_answers_from_an_uploaded_document_with_its_source(
    page: Page, login_session, admin, org, screenshot
):
    kb = knowledge_services.knowledge_base_create(organization=org, actor=None, name="Help centre")
    knowledge_services.document_upload(knowledge_base=kb, actor=None, file=upload("delivery-faq.md", FAQ.encode()))
    bot = bot_services.bot_create(organization=org, actor=None, name="Support bot", knowledge_base_ids=[kb.pk])
    login_session(page, admin.user)
    page.goto(f"/automation/bots/{bot.pk}/")
    expect(page.get_by_label("Help centre")).to_be_checked()

    page.get_by_label("Message", exact=True).fill("Is delivery free?")
    page.get_by_role("button", name="Send").click()

    answer = page.locator("#chat-log .chat-bot").last
    expect(answer.locator(".chat-bubble")).to_have_text(
        "We deliver to every city in Saudi Arabia within two to four working days. Delivery is free above 200 SAR."
    )
    expect(answer.locator(".chat-outcome")).to_have_text("Answer")
    answer.get_by_text("Sources (1)").click()
    expect(answer.locator(".chat-sources li strong")).to_have_text("delivery-faq.md")
    screenshot(page, "bots-test-chat")


def test_the_inbox_shows_a_handed_over_conversations_bot_and_resumes_it(
    page: Page, login_session, org, cloud_number, fake_meta, screenshot
):
    agent = MembershipFactory(organization=org, role=Role.AGENT, user=UserFactory(name="Omar Haddad"))
    bot = bot_services.bot_create(
        organization=org, actor=None, name="Support bot", handoff_message="A colleague will answer you here."
    )
    bot_services.number_automation_set(number=cloud_number, actor=None, values={"bot_id": bot.pk})
    customer_writes(fake_meta, "I need an agent")
    open_inbox(page, login_session, agent)
    row(page, "Sheena Nelson").click()
    eventually(lambda: unread_count() == 0)  # opening it read it (the page's request, done before the test ends)

    bot_reply = page.locator("#messages .msg-out").last
    expect(bot_reply).to_contain_text("A colleague will answer you here.")
    expect(bot_reply.locator(".msg-sender")).to_have_text("Support bot")
    panel = page.locator("#bot-panel")
    expect(panel).to_contain_text("Paused: it handed the conversation to your team.")
    screenshot(page, "inbox-bot-paused")
    panel.get_by_role("button", name="Resume the bot").click()

    expect(panel).to_contain_text("Answers this conversation.")
    expect(panel.get_by_role("button", name="Pause the bot")).to_be_visible()
    assert BotConversation.objects.get().paused is False
