"""The agents' inbox in a real browser against the live server: sign in, a customer's message arriving live (a
signed Meta webhook for a Cloud number, the sandbox's "play the customer"), the reply the fake Graph API receives,
its ticks turning with the status webhooks, the closed window's template notice, a dropped connection caught up,
keyboard shortcuts, and the Arabic page mirrored."""

import re
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Role
from messaging.models import Conversation, Message
from tests.browser.harness import DemoOrg
from tests.factories import MembershipFactory
from tests.fakes.meta import DEFAULT_PHONE_NUMBER_ID, FakeMetaServer
from tests.messaging.factories import ContactFactory, ConversationFactory, WhatsAppNumberFactory

CUSTOMER = "16505551234"


@pytest.fixture
def agent(org):
    return MembershipFactory(organization=org, role=Role.AGENT)


@pytest.fixture
def cloud_number(org, fake_meta: FakeMetaServer, daphne_server):
    """A Cloud API number of the fake Graph API, whose webhooks the fake posts (signed) to the live server. No
    status plays back by itself: the tests queue the ones they want."""
    number = WhatsAppNumberFactory(
        organization=org,
        display_name="Support line",
        phone_number_id=DEFAULT_PHONE_NUMBER_ID,
        app_secret=fake_meta.app_secret,
    )
    fake_meta.webhook_url = f"{daphne_server.url}/webhooks/meta/{org.pk}/phone/{DEFAULT_PHONE_NUMBER_ID}/"
    fake_meta.auto_statuses = ()
    return number


def customer_writes(fake_meta: FakeMetaServer, text: str, *, name: str = "Sheena Nelson") -> None:
    fake_meta.send_inbound(CUSTOMER, text=text, name=name)
    [response] = fake_meta.deliver_webhooks()
    assert response.status_code == 200


def eventually(check, *, timeout: float = 5.0) -> None:
    """Wait until `check()` is true (what the server does after the page's request), at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not true in time"
        time.sleep(0.05)


def unread_count() -> int:
    return Conversation.objects.get().unread_count


def open_inbox(page: Page, login_session, membership, path: str = "/inbox/") -> None:
    login_session(page, membership.user)
    page.goto(path)
    expect(page.locator("#conversation-list")).to_have_attribute("aria-busy", "false")


def row(page: Page, name: str):
    return page.locator(".conv-row", has_text=name)


def test_an_agent_signs_in_and_lands_in_the_inbox(page: Page, demo_org: DemoOrg):
    page.goto("/sign-in/")
    page.locator("#id_email").fill(demo_org.agent.user.email)
    page.locator("#id_password").fill(demo_org.agent_password)
    page.locator("#id_password").press("Enter")

    expect(page).to_have_url(re.compile(r"/inbox/$"))
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    expect(row(page, "Layla")).to_be_visible()
    expect(row(page, "James")).to_contain_text("Hi! Do you ship to Manchester?")


def test_a_customer_message_arrives_live_and_the_reply_reaches_whatsapp_with_its_ticks(
    page: Page, login_session, agent, cloud_number, fake_meta: FakeMetaServer
):
    customer_writes(fake_meta, "Do you have it in blue?")
    open_inbox(page, login_session, agent)
    row(page, "Sheena Nelson").click()
    thread = page.locator("#messages")
    expect(thread.locator(".msg-in")).to_have_text(re.compile("Do you have it in blue?"))
    expect(row(page, "Sheena Nelson").locator(".count")).to_have_count(0)  # opening it read it
    eventually(lambda: unread_count() == 0)

    # A webhook posted to the server while the conversation is open: in the thread and on top of the list.
    customer_writes(fake_meta, "Size M please 🙏")
    expect(thread.locator(".msg-in").last).to_contain_text("Size M please 🙏")
    expect(page.locator(".conv-row").first).to_contain_text("Size M please 🙏")
    eventually(lambda: unread_count() == 0)  # read as it arrived: the agent has it open

    composer = page.locator("#composer-text")
    composer.fill("Yes! Blue, size M, shipping today.")
    composer.press("Enter")

    reply = thread.locator(".msg-out").last
    expect(reply).to_contain_text("Yes! Blue, size M, shipping today.")
    expect(reply.locator(".tick-sent")).to_be_visible()
    [sent] = fake_meta.sends(to=CUSTOMER)
    assert sent["type"] == "text"
    assert sent["text"]["body"] == "Yes! Blue, size M, shipping today."
    wamid = Message.objects.get(direction="outbound").provider_message_id

    fake_meta.queue_status(wamid, "delivered")
    fake_meta.deliver_webhooks()
    expect(reply.locator(".tick-delivered")).to_be_visible()
    fake_meta.queue_status(wamid, "read")
    fake_meta.deliver_webhooks()
    expect(reply.locator(".tick-read")).to_be_visible()
    expect(page.locator(".conv-row").first).to_contain_text("You: Yes! Blue, size M, shipping today.")


def test_a_failed_message_shows_meta_s_reason(page: Page, login_session, agent, cloud_number, fake_meta):
    customer_writes(fake_meta, "Hello?")
    open_inbox(page, login_session, agent)
    row(page, "Sheena Nelson").click()
    fake_meta.fail_next_async(131026, to=CUSTOMER)

    page.locator("#composer-text").fill("Hi Sheena")
    page.locator("#composer-text").press("Enter")
    expect(page.locator(".msg-out .tick-sent")).to_be_visible()  # accepted: the failure comes as a status
    fake_meta.deliver_webhooks()

    failed = page.locator(".msg-out .tick-failed")
    expect(failed).to_be_visible()
    expect(failed).to_have_attribute("title", re.compile("Not delivered: Message Undeliverable"))


def test_a_closed_window_asks_for_a_template_and_disables_the_composer(page: Page, login_session, agent, cloud_number):
    conversation = ConversationFactory(
        organization=cloud_number.organization,
        number=cloud_number,
        contact=ContactFactory(organization=cloud_number.organization, name="Old Friend"),
        last_inbound_at=timezone.now() - timedelta(hours=25),
    )

    open_inbox(page, login_session, agent, f"/inbox/{conversation.pk}/")

    expect(page.locator("#window-state")).to_have_text("Window closed: send a template")
    expect(page.locator("#window-notice")).to_be_visible()
    expect(page.locator("#window-notice")).to_contain_text("a template is needed")
    expect(page.locator("#composer-text")).to_be_disabled()
    expect(page.locator("#send-button")).to_be_disabled()


def test_an_open_window_counts_down(page: Page, login_session, agent, cloud_number):
    conversation = ConversationFactory(
        organization=cloud_number.organization,
        number=cloud_number,
        last_inbound_at=timezone.now() - timedelta(hours=20, minutes=48, seconds=30),
    )

    open_inbox(page, login_session, agent, f"/inbox/{conversation.pk}/")

    expect(page.locator("#window-state")).to_have_text(re.compile(r"^Window closes in 3h 1[12]m$"))
    expect(page.locator("#composer-text")).to_be_enabled()


def test_a_dropped_connection_shows_the_bar_reconnects_and_shows_what_it_missed(
    page: Page, login_session, agent, cloud_number, fake_meta
):
    customer_writes(fake_meta, "First question")
    open_inbox(page, login_session, agent)
    row(page, "Sheena Nelson").click()
    expect(page.locator("#messages .msg-in")).to_have_count(1)
    bar = page.locator("#connection-bar")
    expect(bar).to_be_hidden()

    page.context.set_offline(True)
    expect(bar).to_be_visible()
    expect(bar).to_have_text("Reconnecting…")
    customer_writes(fake_meta, "Are you there?")
    page.context.set_offline(False)

    expect(bar).to_be_hidden()
    expect(page.locator("#messages .msg-in").last).to_contain_text("Are you there?")
    expect(page.locator(".conv-row").first).to_contain_text("Are you there?")


def test_playing_the_customer_of_a_sandbox_number_brings_a_new_conversation_live(
    page: Page, login_session, demo_org: DemoOrg
):
    open_inbox(page, login_session, demo_org.agent)

    page.get_by_role("button", name="Play the customer").click()
    dialog = page.locator("#play-dialog")
    dialog.get_by_label("Customer's phone").fill("+14155550123")
    dialog.get_by_label("Customer's name").fill("Alex")
    dialog.get_by_label("Message").fill("Is my order ready?")
    dialog.get_by_role("button", name="Send as the customer").click()

    expect(dialog.locator("#play-done")).to_be_visible()
    expect(row(page, "Alex")).to_contain_text("Is my order ready?")
    expect(row(page, "Alex").locator(".count")).to_have_text("1")


def test_a_new_conversation_needs_a_template_for_a_new_customer_and_opens_for_one_who_wrote(
    page: Page, login_session, demo_org: DemoOrg
):
    open_inbox(page, login_session, demo_org.agent)
    page.get_by_role("button", name="New conversation").click()
    dialog = page.locator("#new-dialog")
    dialog.get_by_label("Phone number").fill("+447700900999")
    dialog.get_by_label("Message").fill("Hello! Following up on your order.")
    dialog.get_by_role("button", name="Send").click()

    expect(dialog.locator("#new-template-notice")).to_be_visible()
    expect(dialog.locator("#new-template-notice")).to_contain_text("A template is needed")
    assert not Message.objects.filter(text="Hello! Following up on your order.").exists()

    dialog.get_by_label("Phone number").fill(demo_org.contact.phone)
    dialog.get_by_role("button", name="Send").click()

    expect(dialog).to_be_hidden()
    expect(page).to_have_url(re.compile(rf"/inbox/{demo_org.conversation.pk}/$"))
    expect(page.locator("#messages .msg-out").last).to_contain_text("Hello! Following up on your order.")


# The browser's notifications are not part of the page: this stand-in records what the page shows.
RECORD_NOTIFICATIONS = """
window.__notified = [];
window.Notification = class {
  static permission = "granted";
  static requestPermission() { return Promise.resolve("granted"); }
  constructor(title, options) { window.__notified.push([title, options.body]); }
  addEventListener() {}
};
"""
SET_VISIBILITY = """state => {
  Object.defineProperty(document, "visibilityState", { value: state, configurable: true });
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def test_a_hidden_tab_counts_new_messages_in_its_title_and_notifies(
    page: Page, login_session, agent, cloud_number, fake_meta
):
    page.add_init_script(RECORD_NOTIFICATIONS)
    customer_writes(fake_meta, "Hi")
    open_inbox(page, login_session, agent)
    page.get_by_role("button", name="Turn on notifications").click()
    expect(page.locator("#notify-toggle")).to_have_attribute("aria-pressed", "true")

    page.evaluate(SET_VISIBILITY, "hidden")
    customer_writes(fake_meta, "Anyone there?")
    customer_writes(fake_meta, "Hello??")

    expect(page).to_have_title("(2) Inbox · WhatsApp Hub")
    page.wait_for_function("() => window.__notified.length === 2")
    assert page.evaluate("window.__notified") == [
        ["New message from Sheena Nelson", "Anyone there?"],
        ["New message from Sheena Nelson", "Hello??"],
    ]
    page.evaluate(SET_VISIBILITY, "visible")
    expect(page).to_have_title("Inbox · WhatsApp Hub")


def test_the_composer_counts_code_points_and_stops_past_4096(page: Page, login_session, agent, cloud_number, fake_meta):
    customer_writes(fake_meta, "Write me a long one")
    open_inbox(page, login_session, agent)
    row(page, "Sheena Nelson").click()
    composer, counter = page.locator("#composer-text"), page.locator("#composer-counter")

    composer.fill("👍" * 4096)  # 4096 code points, 8192 UTF-16 units
    expect(counter).to_have_text("4096 / 4096")
    expect(page.locator("#send-button")).to_be_enabled()
    composer.press("End")
    composer.press_sequentially("🙏")

    expect(counter).to_have_text("4097 / 4096")
    expect(page.locator("#send-button")).to_be_disabled()
    expect(page.locator("#composer-error")).to_have_text("At most 4096 characters.")


def test_an_agent_writes_notes_on_the_contact_in_the_panel(page: Page, login_session, agent, cloud_number):
    contact = ContactFactory(organization=cloud_number.organization, name="Noura", notes="")
    conversation = ConversationFactory(organization=contact.organization, number=cloud_number, contact=contact)
    open_inbox(page, login_session, agent, f"/inbox/{conversation.pk}/")
    notes = page.locator("#contact-panel").get_by_label("Notes")
    expect(notes).to_have_attribute("dir", "auto")

    notes.fill("Prefers Arabic.\nCalls after 5 pm.")
    page.get_by_role("button", name="Save notes").click()

    expect(page.locator("#notes-status")).to_have_text("Notes saved.")
    contact.refresh_from_db()
    assert contact.notes == "Prefers Arabic.\nCalls after 5 pm."

    # Saving the name keeps the notes being typed; a refused save says why and stores nothing.
    notes.fill("Wants a call back.")
    page.locator("#contact-name").fill("Noura Saleh")
    page.locator("#contact-name").press("Enter")
    expect(page.locator("#thread-name")).to_have_text("Noura Saleh")
    expect(notes).to_have_value("Wants a call back.")
    page.route(
        f"**/api/v1/contacts/{contact.pk}",
        lambda route: route.fulfill(status=503, json={"detail": "Service unavailable."}),
    )
    page.get_by_role("button", name="Save notes").click()
    expect(page.locator("#notes-error")).to_have_text("Service unavailable.")
    expect(page.locator("#notes-status")).to_have_text("")
    contact.refresh_from_db()
    assert (contact.name, contact.notes) == ("Noura Saleh", "Prefers Arabic.\nCalls after 5 pm.")


def test_keyboard_moves_opens_assigns_and_closes(page: Page, login_session, demo_org: DemoOrg):
    open_inbox(page, login_session, demo_org.agent)
    first = page.locator(".conv-row").first
    name = first.locator(".conv-name").inner_text()

    page.keyboard.press("j")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/inbox/\d+/$"))
    expect(page.locator("#thread-name")).to_have_text(name)
    conversation = Conversation.objects.get(pk=int(page.url.rstrip("/").rsplit("/", 1)[1]))

    page.locator("body").press("a")
    expect(page.locator("#assign-select")).to_have_value(str(demo_org.agent.user_id))
    page.locator("body").press("e")
    expect(page.locator("#status-label")).to_have_text("Reopen")
    conversation.refresh_from_db()
    assert (conversation.assigned_to_id, conversation.status) == (demo_org.agent.user_id, "closed")

    page.locator("body").press("?")
    expect(page.locator("#help-dialog")).to_be_visible()
    page.keyboard.press("Escape")
    page.locator("body").press("/")
    expect(page.locator("#list-search")).to_be_focused()


def test_the_inbox_in_english(page: Page, login_session, demo_org: DemoOrg, screenshot):
    open_inbox(page, login_session, demo_org.agent, f"/inbox/{demo_org.conversation.pk}/")

    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    expect(page.locator("#messages .msg")).to_have_count(3)
    inbound, outbound = page.locator(".msg-in .bubble").first, page.locator(".msg-out .bubble").first
    assert inbound.bounding_box()["x"] < outbound.bounding_box()["x"]
    screenshot(page, "inbox-en")


def test_the_inbox_in_arabic_is_right_to_left_with_the_bubbles_mirrored(
    arabic_page: Page, login_session, demo_org: DemoOrg, screenshot
):
    open_inbox(arabic_page, login_session, demo_org.agent, f"/inbox/{demo_org.conversation.pk}/")

    expect(arabic_page.locator("html")).to_have_attribute("dir", "rtl")
    expect(arabic_page.locator("#messages .msg")).to_have_count(3)
    inbound, outbound = arabic_page.locator(".msg-in .bubble").first, arabic_page.locator(".msg-out .bubble").first
    assert inbound.bounding_box()["x"] > outbound.bounding_box()["x"]
    # The list is on the start side: the right.
    assert arabic_page.locator(".inbox-list").bounding_box()["x"] > arabic_page.locator("#thread").bounding_box()["x"]
    screenshot(arabic_page, "inbox-ar")


def test_a_marketer_is_refused_with_the_reason(page: Page, login_session, org):
    marketer = MembershipFactory(organization=org, role=Role.MARKETING)
    login_session(page, marketer.user)

    response = page.goto("/inbox/")

    assert response.status == 403
    expect(page.get_by_text("The inbox is for agents and admins.")).to_be_visible()
