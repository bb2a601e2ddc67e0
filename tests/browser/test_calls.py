"""WhatsApp calls in a real browser: the Calling API's webhooks (the fake Graph API posts them, signed, to the live
server) show live in the open conversation's thread between its messages, a call's terminate turning its line from
"Incoming" to "Voice call, 3:12"; the calls page (from the inbox) lists and filters them; both in Arabic too."""

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Role
from messaging.models import Call
from tests.browser.test_inbox import CUSTOMER, customer_writes, open_inbox, row
from tests.factories import MembershipFactory
from tests.fakes.meta import DEFAULT_PHONE_NUMBER_ID, FakeMetaServer
from tests.messaging.factories import WhatsAppNumberFactory

ANSWERED = "wacid.HBgLMTY1MDU1NTEyMzQVAgASGCBBQ0Q4OTc5RDc3MjgyNkFFNkU0QTYzNTc0MTM0ODhFRRwYCzE1NTUwNzgzODgxFQIAFQoA"
MISSED = "wacid.HBgLMTY1MDU1NTEyMzQVAgASGCA3RjE0QjQ5ODBCRkYxNzdBQzU0NUE1QjlCRTYwNDQ2MRwYCzE1NTUwNzgzODgxFQIAFQoA"
SHOTS = "/tmp/shots"


@pytest.fixture
def agent(org):
    return MembershipFactory(organization=org, role=Role.AGENT)


@pytest.fixture
def cloud_number(org, fake_meta: FakeMetaServer, daphne_server):
    number = WhatsAppNumberFactory(
        organization=org,
        display_name="Support line",
        phone_number_id=DEFAULT_PHONE_NUMBER_ID,
        app_secret=fake_meta.app_secret,
    )
    fake_meta.webhook_url = f"{daphne_server.url}/webhooks/meta/{org.pk}/phone/{DEFAULT_PHONE_NUMBER_ID}/"
    fake_meta.auto_statuses = ()
    return number


def deliver(fake_meta: FakeMetaServer) -> None:
    responses = fake_meta.deliver_webhooks()
    assert [response.status_code for response in responses] == [200] * len(responses)


def answered_call(fake_meta: FakeMetaServer, *, deliver_each: bool = True) -> None:
    """A call that rings, then (3:12 later) ends."""
    fake_meta.clock.advance(60)
    fake_meta.queue_call(CUSTOMER, "connect", call_id=ANSWERED, name="Sheena Nelson")
    if deliver_each:
        deliver(fake_meta)
    fake_meta.clock.advance(192)
    fake_meta.queue_call(CUSTOMER, "terminate", call_id=ANSWERED, duration=192, name="Sheena Nelson")
    if deliver_each:
        deliver(fake_meta)


def missed_call(fake_meta: FakeMetaServer) -> None:
    """A call nobody answered: Meta ends it after 40 seconds, nothing talked."""
    fake_meta.clock.advance(60)
    fake_meta.queue_call(CUSTOMER, "connect", call_id=MISSED, name="Sheena Nelson")
    fake_meta.clock.advance(40)
    fake_meta.queue_call(CUSTOMER, "terminate", call_id=MISSED, status="FAILED", name="Sheena Nelson")
    deliver(fake_meta)


def calls_happen(fake_meta: FakeMetaServer) -> None:
    """An answered call of 3:12, then a missed one."""
    answered_call(fake_meta, deliver_each=False)
    missed_call(fake_meta)


def test_calls_show_live_in_the_thread_between_messages(
    page: Page, login_session, agent, cloud_number, fake_meta: FakeMetaServer, screenshot
):
    customer_writes(fake_meta, "Can I call you about my order?")
    open_inbox(page, login_session, agent)
    row(page, "Sheena Nelson").click()
    thread = page.locator("#messages")
    expect(thread.locator(".msg-in")).to_have_count(1)

    line = thread.locator(".call-event")
    fake_meta.clock.advance(60)
    fake_meta.queue_call(CUSTOMER, "connect", call_id=ANSWERED, name="Sheena Nelson")
    deliver(fake_meta)
    expect(line.locator(".call-event-label")).to_have_text("Incoming voice call")
    fake_meta.clock.advance(192)
    fake_meta.queue_call(CUSTOMER, "terminate", call_id=ANSWERED, duration=192, name="Sheena Nelson")
    deliver(fake_meta)
    expect(line.locator(".call-event-label")).to_have_text("Voice call, 3:12")
    expect(line).to_have_class("call-event")

    missed_call(fake_meta)
    expect(thread.locator(".call-event")).to_have_count(2)
    missed = thread.locator(".call-event").last
    expect(missed.locator(".call-event-label")).to_have_text("Missed voice call")
    expect(missed).to_have_class("call-event is-alert")

    fake_meta.clock.advance(60)
    customer_writes(fake_meta, "Sorry, I missed you. Call me later?")
    expect(thread.locator(".msg-in")).to_have_count(2)
    # In time order: the message, the two calls, the message.
    kinds = thread.locator("> li:not(.day-separator):not(.new-marker)").evaluate_all(
        "items => items.map(item => item.className)"
    )
    assert [kind.split()[0] for kind in kinds] == ["msg", "call-event", "call-event", "msg"]
    assert Call.objects.count() == 2

    # Opened again (a REST load, not the socket): the same lines in the same places.
    page.reload()
    expect(thread.locator(".call-event-label")).to_have_text(["Voice call, 3:12", "Missed voice call"])
    page.screenshot(path=f"{SHOTS}/calls-thread-en.png")
    screenshot(page, "calls-thread-en")


def test_the_calls_page_lists_and_filters_calls_from_the_inbox(
    page: Page, login_session, agent, cloud_number, fake_meta: FakeMetaServer
):
    calls_happen(fake_meta)
    open_inbox(page, login_session, agent)
    page.locator("#calls-link").click()

    expect(page.get_by_role("heading", name="Calls")).to_be_visible()
    rows = page.locator(".calls-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first.locator(".call-kind")).to_have_text("Missed voice call")
    expect(rows.last.locator(".call-kind")).to_have_text("Voice call, 3:12")
    expect(rows.last).to_contain_text("Sheena Nelson")
    expect(rows.last).to_contain_text("3:12")
    page.screenshot(path=f"{SHOTS}/calls-page-en.png", full_page=True)

    page.locator("#id_status").select_option("missed")  # applies at once
    expect(page).to_have_url(f"{page.url.split('?')[0]}?status=missed")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".call-kind")).to_have_text("Missed voice call")

    page.locator("#id_status").select_option("completed")
    expect(rows).to_have_count(1)
    rows.first.get_by_role("link", name="Sheena Nelson").click()
    expect(page.locator("#messages .call-event")).to_have_count(2)


def test_calls_in_arabic(arabic_page: Page, login_session, agent, cloud_number, fake_meta: FakeMetaServer):
    calls_happen(fake_meta)
    fake_meta.clock.advance(60)
    customer_writes(fake_meta, "مرحبا، اتصلت بكم")
    call = Call.objects.get(provider_call_id=ANSWERED)
    open_inbox(arabic_page, login_session, agent, f"/inbox/{call.conversation_id}/")

    expect(arabic_page.locator("html")).to_have_attribute("dir", "rtl")
    labels = arabic_page.locator("#messages .call-event-label")
    expect(labels).to_have_text(["مكالمة صوتية، 3:12", "مكالمة صوتية فائتة"])
    arabic_page.screenshot(path=f"{SHOTS}/calls-thread-ar.png")

    arabic_page.goto("/inbox/calls/")
    expect(arabic_page.get_by_role("heading", name="المكالمات")).to_be_visible()
    expect(arabic_page.locator(".calls-table tbody tr")).to_have_count(2)
    arabic_page.screenshot(path=f"{SHOTS}/calls-page-ar.png", full_page=True)
