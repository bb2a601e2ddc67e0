"""Notes and the notification bell in a real browser: agent A mentions agent B in an internal note; B's bell counts
it live, without a reload, and the notification opens the conversation. On the inbox, the bell shares the page's
one live socket. Arabic screenshots of the bell's panel, the note composer and the preferences page."""

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Role
from messaging.models import ConversationNote, Notification
from messaging.services.conversations import conversation_update
from messaging.services.sandbox import sandbox_inbound_simulate
from tests.browser.harness import DemoOrg, run_outside_browser_loop
from tests.factories import MembershipFactory, UserFactory
from tests.fakes.meta import FakeMetaServer
from tests.messaging.factories import ContactFactory, ConversationFactory, WhatsAppNumberFactory


@pytest.fixture
def people(org):
    ann = MembershipFactory(organization=org, role=Role.AGENT, user=UserFactory(name="Ann Agent"))
    bob = MembershipFactory(organization=org, role=Role.AGENT, user=UserFactory(name="Bob Builder"))
    return ann, bob


@pytest.fixture
def conversation(org, fake_meta: FakeMetaServer):
    number = WhatsAppNumberFactory(organization=org, display_name="Support line")
    contact = ContactFactory(organization=org, name="Sheena Nelson", wa_id="16505551234", phone="+16505551234")
    return ConversationFactory(organization=org, number=number, contact=contact, last_message_preview="Hi")


def write_note_mentioning(page: Page, text: str, who: str) -> None:
    page.get_by_test_id("note-toggle").click()
    composer = page.locator("#composer-text")
    composer.press_sequentially(f"{text} @{who[:3]}")
    option = page.locator("#mention-menu .mention-option", has_text=who)
    expect(option).to_be_visible()
    composer.press("Enter")  # picks the highlighted teammate
    expect(composer).to_have_value(f"{text} @{who} ")
    composer.press("Enter")  # saves the note


def test_a_mention_notifies_a_teammate_live_and_opens_the_conversation(
    page: Page, new_context, login_session, people, conversation, fake_meta: FakeMetaServer, screenshot
):
    ann, bob = people
    bob_page = new_context().new_page()
    login_session(bob_page, bob.user)
    bob_page.goto("/contacts/")
    bell = bob_page.get_by_test_id("notification-bell")
    expect(bell).to_have_attribute("data-unread", "0")

    login_session(page, ann.user)
    page.goto(f"/inbox/{conversation.pk}/")
    expect(page.locator("#thread-name")).to_have_text("Sheena Nelson")
    write_note_mentioning(page, "Can you call them back?", "Bob Builder")

    note = page.locator(".msg-note")
    expect(note).to_contain_text("Internal note")
    expect(note).to_contain_text("Can you call them back? @Bob Builder")
    screenshot(page, "notes-thread-en")
    # Bob's bell, on another page, counts it without a reload.
    expect(bell.locator("[data-bell-count]")).to_have_text("1")
    bell.locator("summary").click()
    item = bell.locator(".bell-item.is-unread")
    expect(item).to_contain_text("Ann Agent mentioned you in a note on Sheena Nelson")
    screenshot(bob_page, "notifications-bell-en")
    bob_page.set_viewport_size({"width": 768, "height": 800})
    screenshot(bob_page, "notifications-bell-en-768")
    item.locator("a").click()
    expect(bob_page).to_have_url(re.compile(rf"/inbox/{conversation.pk}/$"))
    expect(bob_page.locator(".msg-note")).to_contain_text("Can you call them back?")
    expect(bob_page.get_by_test_id("notification-bell").locator("[data-bell-count]")).to_be_hidden()

    [stored] = ConversationNote.objects.all()
    assert stored.mentions == [bob.user_id]
    assert Notification.objects.get().read_at is not None
    assert fake_meta.requests == []  # a note never reaches WhatsApp


def test_the_inbox_and_the_bell_share_one_live_socket(page: Page, login_session, demo_org: DemoOrg, daphne_server):
    sockets = []
    page.on("websocket", lambda socket: sockets.append(socket))
    login_session(page, demo_org.agent.user)
    conversation = demo_org.conversation  # Layla's, nobody's yet
    page.goto(f"/inbox/{conversation.pk}/")
    thread = page.locator("#messages")
    expect(thread.locator(".msg-in").last).to_contain_text("شكراً جزيلاً")
    bell = page.get_by_test_id("notification-bell")
    expect(bell).to_have_attribute("data-unread", "0")  # read after the socket's hello

    # The admin assigns her to the agent: the bell counts it, over the inbox's socket.
    run_outside_browser_loop(
        conversation_update,
        conversation=conversation,
        actor=demo_org.admin.user,
        role=Role.ADMIN,
        assigned_to_id=demo_org.agent.user_id,
    )
    expect(bell.locator("[data-bell-count]")).to_have_text("1")
    # She writes again: the thread shows it live, and the bell counts the new message of a conversation of his.
    run_outside_browser_loop(
        sandbox_inbound_simulate,
        organization=demo_org.organization,
        number_id=demo_org.number.pk,
        phone=demo_org.contact.phone,
        part={"type": "text", "text": {"body": "متى يصل الطلب؟"}},
    )
    expect(thread.locator(".msg-in").last).to_contain_text("متى يصل الطلب؟")
    expect(bell.locator("[data-bell-count]")).to_have_text("2")
    bell.locator("summary").click()
    expect(bell.locator(".bell-item.is-unread")).to_have_count(2)

    # A part of the page that starts once the socket is open is told its own first hello, on the same socket.
    late = page.evaluate(
        """async () => {
            const names = performance.getEntriesByType("resource").map((entry) => entry.name);
            const { LiveSocket } = await import(names.find((name) => /\\/js\\/live(\\.\\w+)?\\.js$/.test(name)));
            return new Promise((resolve) => {
                const states = [];
                const hello = ({ first }) => resolve({ first, states });
                new LiveSocket("/ws/inbox/", { state: (state) => states.push(state), hello }, { events: [] }).connect();
            });
        }"""
    )
    assert late == {"first": True, "states": ["open"]}

    # One websocket all along (the bell's own would have been a second to /ws/inbox/), still open.
    [socket] = sockets
    assert socket.url == f"ws://127.0.0.1:{daphne_server.port}/ws/inbox/"
    assert not socket.is_closed()


def test_after_a_dropped_connection_the_inbox_and_the_bell_both_catch_up(page: Page, login_session, demo_org: DemoOrg):
    sockets = []
    page.on("websocket", lambda socket: sockets.append(socket))
    login_session(page, demo_org.agent.user)
    conversation = demo_org.conversation
    page.goto(f"/inbox/{conversation.pk}/")
    thread = page.locator("#messages")
    expect(thread.locator(".msg-in").last).to_contain_text("شكراً جزيلاً")
    bell = page.get_by_test_id("notification-bell")
    expect(bell).to_have_attribute("data-unread", "0")
    bar = page.locator("#connection-bar")

    page.context.set_offline(True)
    expect(bar).to_be_visible()
    # Missed while down: an assignment (a notification) and her message (the thread's).
    run_outside_browser_loop(
        conversation_update,
        conversation=conversation,
        actor=demo_org.admin.user,
        role=Role.ADMIN,
        assigned_to_id=demo_org.agent.user_id,
    )
    run_outside_browser_loop(
        sandbox_inbound_simulate,
        organization=demo_org.organization,
        number_id=demo_org.number.pk,
        phone=demo_org.contact.phone,
        part={"type": "text", "text": {"body": "هل أنتم هنا؟"}},
    )
    page.context.set_offline(False)

    # Each part of the page reads again what it missed, on the one socket that came back.
    expect(bar).to_be_hidden()
    expect(thread.locator(".msg-in").last).to_contain_text("هل أنتم هنا؟")
    expect(bell.locator("[data-bell-count]")).to_have_text("2")
    # The dropped socket and any retry made while offline are closed: one open socket, the last.
    assert [socket.is_closed() for socket in sockets] == [True] * (len(sockets) - 1) + [False]


def test_arabic_bell_note_composer_and_preferences(
    arabic_page: Page, new_context, login_session, people, conversation, screenshot
):
    ann, bob = people
    login_session(arabic_page, ann.user)
    arabic_page.goto(f"/inbox/{conversation.pk}/")
    expect(arabic_page.locator("html")).to_have_attribute("dir", "rtl")
    arabic_page.get_by_test_id("note-toggle").click()
    composer = arabic_page.locator("#composer-text")
    expect(composer).to_have_attribute("placeholder", re.compile("ملاحظة داخلية"))
    composer.press_sequentially("اتصل بالعميل غدًا @Bob")
    expect(arabic_page.locator("#mention-menu .mention-option")).to_have_count(1)
    screenshot(arabic_page, "notes-composer-ar")
    composer.press("Enter")
    composer.press("Enter")
    expect(arabic_page.locator(".msg-note")).to_contain_text("ملاحظة داخلية")
    screenshot(arabic_page, "notes-thread-ar")

    bob_page = new_context(locale="ar").new_page()
    login_session(bob_page, bob.user)
    bob_page.goto("/dashboard/")
    bell = bob_page.get_by_test_id("notification-bell")
    expect(bell.locator("[data-bell-count]")).to_have_text("1")
    bell.locator("summary").click()
    expect(bell.locator(".bell-item")).to_contain_text("أشار إليك Ann Agent في ملاحظة على Sheena Nelson")
    screenshot(bob_page, "notifications-bell-ar")

    bob_page.goto("/account/notifications/")
    expect(bob_page.get_by_role("heading", name="الإشعارات")).to_be_visible()
    screenshot(bob_page, "notifications-preferences-ar")
    bob_page.set_viewport_size({"width": 768, "height": 900})
    screenshot(bob_page, "notifications-preferences-ar-768")
    bob_page.locator("#id_quiet_start").fill("22:00")
    bob_page.locator("#id_quiet_end").fill("07:00")
    bob_page.get_by_role("button", name="حفظ").click()
    expect(bob_page.locator(".flash")).to_contain_text("حُفظت تفضيلات الإشعارات")
