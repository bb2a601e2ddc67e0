"""The inbox's template picker in a real browser: a closed conversation whose 24-hour window closed gets a template
(searched, its values prefilled from the contact where the template plainly asks for the name, a live preview, a
refused send shown next to its field), the fake Graph API receives it, the thread shows it live and the conversation
is open again, while the composer stays closed until the customer replies. English and Arabic."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Role
from messaging.models import Conversation
from templates.models import MessageTemplate
from tests.browser import test_inbox
from tests.browser.test_inbox import open_inbox
from tests.factories import MembershipFactory
from tests.fakes.meta import FakeMetaServer
from tests.messaging.factories import ContactFactory, ConversationFactory
from tests.templates.factories import MessageTemplateFactory

cloud_number = test_inbox.cloud_number  # the fixture: a Cloud API number of the fake Graph API

SHIPPED = [
    {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}", "example": {"header_text": ["#1001"]}},
    {
        "type": "BODY",
        "text": "Hello {{1}}, your order {{2}} has shipped. Track it with the link below.",
        "example": {"body_text": [["Maya", "#1001"]]},
    },
    {"type": "FOOTER", "text": "Demo Store"},
    {
        "type": "BUTTONS",
        "buttons": [
            {"type": "URL", "text": "Track", "url": "https://shop.example/track/{{1}}", "example": ["1001"]},
            {"type": "QUICK_REPLY", "text": "Thanks!"},
        ],
    },
]


@pytest.fixture
def agent(org):
    return MembershipFactory(organization=org, role=Role.AGENT)


@pytest.fixture
def closed(org, cloud_number):
    """Sara's conversation: closed, her last message 25 hours ago (the window is closed)."""
    return ConversationFactory(
        organization=org,
        number=cloud_number,
        contact=ContactFactory(organization=org, name="Sara Al-Harbi"),
        status=Conversation.Status.CLOSED,
        last_inbound_at=timezone.now() - timedelta(hours=25),
    )


@pytest.fixture
def templates(org, cloud_number):
    shipped = MessageTemplateFactory(
        organization=org, waba_id=cloud_number.waba_id, name="order_shipped", components=SHIPPED
    )
    MessageTemplateFactory(organization=org, waba_id=cloud_number.waba_id, name="welcome_back")
    MessageTemplateFactory(
        organization=org, waba_id=cloud_number.waba_id, name="draft_offer", status=MessageTemplate.Status.PENDING
    )
    MessageTemplateFactory(organization=org, waba_id="another-account", name="other_account")
    return shipped


def test_a_template_sent_from_the_picker_reopens_a_closed_conversation(
    page: Page, login_session, agent, closed, templates, fake_meta: FakeMetaServer, screenshot
):
    open_inbox(page, login_session, agent, f"/inbox/{closed.pk}/")
    expect(page.locator("#window-notice")).to_be_visible()
    expect(page.locator("#composer-text")).to_be_disabled()
    expect(page.locator("#status-label")).to_have_text("Reopen")

    page.locator("#window-notice").get_by_role("button", name="Send a template").click()
    dialog = page.locator("#template-dialog")
    expect(dialog).to_be_visible()
    rows = dialog.locator(".template-row")
    expect(rows).to_have_count(2)  # the approved ones of the number's account
    expect(rows.first).to_contain_text("order_shipped")
    screenshot(page, "template-picker")
    page.locator("#template-search").fill("track")
    expect(rows).to_have_count(1)
    rows.first.click()

    # {{1}} after "Hello" is the customer's name; {{2}}, the header's and the button's are the agent's to fill in.
    body_1, body_2 = dialog.locator("[data-key='1'] input"), dialog.locator("[data-key='2'] input")
    expect(body_1).to_have_value("Sara")
    expect(dialog.locator("[data-key='1']")).to_contain_text("From the contact")
    expect(body_2).to_have_value("")
    preview = dialog.locator("#template-preview")
    expect(preview).to_contain_text("Hello Sara, your order {{2}} has shipped.")
    expect(preview).to_contain_text("Track")
    dialog.locator("[data-key='header.1'] input").fill("#1042")
    body_2.fill("#1042")
    expect(preview).to_contain_text("Order #1042")
    expect(preview).to_contain_text("Hello Sara, your order #1042 has shipped.")
    screenshot(page, "template-picker-form")

    dialog.get_by_role("button", name="Send template").click()  # the button's value is missing
    error = dialog.locator("[data-key='button.0'] .error")
    expect(error).to_be_visible()
    assert fake_meta.sends() == []
    dialog.locator("[data-key='button.0'] input").fill("1042")
    dialog.get_by_role("button", name="Send template").click()

    expect(dialog).to_be_hidden()
    sent = page.locator("#messages .msg-out").last
    expect(sent).to_contain_text("order_shipped")
    expect(sent.locator(".tick-sent")).to_be_visible()
    expect(page.locator("#status-label")).to_have_text("Close")  # open again
    # Only the customer's reply opens the 24-hour window: free text still waits.
    expect(page.locator("#composer-text")).to_be_disabled()
    expect(page.locator("#window-notice")).to_be_visible()
    [body] = fake_meta.sends(type="template")
    assert body["template"]["name"] == "order_shipped"
    assert body["template"]["components"] == [
        {"type": "header", "parameters": [{"type": "text", "text": "#1042"}]},
        {"type": "body", "parameters": [{"type": "text", "text": "Sara"}, {"type": "text", "text": "#1042"}]},
        {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "1042"}]},
    ]
    closed.refresh_from_db()
    assert closed.status == Conversation.Status.OPEN


def test_the_template_button_opens_the_picker_any_time_and_in_arabic(
    arabic_page: Page, login_session, agent, closed, templates, screenshot
):
    closed.last_inbound_at = timezone.now() - timedelta(hours=1)
    closed.save(update_fields=["last_inbound_at"])
    open_inbox(arabic_page, login_session, agent, f"/inbox/{closed.pk}/")
    expect(arabic_page.locator("#window-notice")).to_be_hidden()

    arabic_page.locator("#template-button").click()

    dialog = arabic_page.locator("#template-dialog")
    expect(dialog.get_by_role("heading", name="إرسال قالب")).to_be_visible()
    expect(dialog.locator(".template-row")).to_have_count(2)
    screenshot(arabic_page, "template-picker-ar")
    dialog.locator(".template-row", has_text="order_shipped").click()
    expect(dialog.locator("[data-key='1'] input")).to_have_value("Sara")
    expect(dialog.locator("[data-key='1']")).to_contain_text("من بيانات جهة الاتصال")
    screenshot(arabic_page, "template-picker-form-ar")
    arabic_page.set_viewport_size({"width": 768, "height": 900})
    screenshot(arabic_page, "template-picker-form-ar-narrow")
    dialog.get_by_role("button", name="العودة إلى القوالب").click()
    expect(dialog.locator(".template-row")).to_have_count(2)
    arabic_page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_a_new_conversation_with_a_customer_who_never_wrote_starts_with_a_template(
    page: Page, login_session, agent, cloud_number, templates, fake_meta: FakeMetaServer, screenshot
):
    open_inbox(page, login_session, agent)
    page.get_by_role("button", name="New conversation").click()
    new = page.locator("#new-dialog")
    new.get_by_label("Phone number").fill("+447700900123")
    new.get_by_label("Message").fill("Hello!")
    new.get_by_role("button", name="Send").click()
    notice = new.locator("#new-template-notice")
    expect(notice).to_be_visible()
    screenshot(page, "new-conversation-template-needed")

    notice.get_by_role("button", name="Choose a template").click()
    expect(new).to_be_hidden()
    dialog = page.locator("#template-dialog")
    expect(dialog.locator(".template-row")).to_have_count(2)  # the approved ones of the chosen number's account
    dialog.locator(".template-row", has_text="welcome_back").click()
    dialog.locator("[data-key='1'] input").fill("Maya")
    dialog.get_by_role("button", name="Send template").click()

    expect(dialog).to_be_hidden()
    conversation = Conversation.objects.get(organization=cloud_number.organization, contact__wa_id="447700900123")
    expect(page).to_have_url(re.compile(rf"/inbox/{conversation.pk}/$"))
    expect(page.locator("#messages .msg-out").last).to_contain_text("welcome_back")
    [body] = fake_meta.sends(type="template")
    assert (body["to"], body["template"]["name"]) == ("+447700900123", "welcome_back")
    assert conversation.number_id == cloud_number.pk
