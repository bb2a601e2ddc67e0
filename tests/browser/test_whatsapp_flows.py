"""WhatsApp Flows in a real browser: an admin creates a flow under Templates (Meta's validation errors shown next to
the Flow JSON, then fixed), publishes it (confirmed), the customer's submitted form arrives through Meta's webhook,
and the inbox thread shows it as "field: value" lines, the flows page its responses. English and Arabic, laptop and
narrow windows."""

import json

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Role
from messaging.models import Conversation, WhatsAppFlow
from tests.browser import test_inbox
from tests.browser.test_inbox import CUSTOMER, open_inbox
from tests.factories import MembershipFactory
from tests.fakes.meta import FakeMetaServer
from tests.messaging.factories import WhatsAppFlowFactory
from tests.messaging.test_whatsapp_flows import BROKEN, SIGN_UP

cloud_number = test_inbox.cloud_number  # the fixture: a Cloud API number of the fake Graph API


@pytest.fixture
def admin(org):
    return MembershipFactory(organization=org, role=Role.ADMIN, user__name="Nora Admin")


def test_an_admin_creates_and_publishes_a_flow_and_sees_a_response_in_the_thread(
    page: Page, arabic_page: Page, login_session, admin, cloud_number, fake_meta: FakeMetaServer, screenshot
):
    login_session(page, admin.user)
    page.goto("/templates/")
    page.get_by_role("link", name="WhatsApp Flows").click()
    expect(page.locator("h1")).to_contain_text("WhatsApp Flows")
    page.get_by_role("link", name="New WhatsApp Flow").first.click()

    page.locator("#id_name").fill("Visit booking")
    page.get_by_label("Appointment booking").check()
    page.locator("#id_flow_json").fill(json.dumps(BROKEN, indent=2))
    page.get_by_role("button", name="Create the draft").click()
    expect(page.locator(".field.has-error")).to_contain_text("Invalid value found for property 'type'.")
    screenshot(page, "whatsapp-flow-errors")

    page.locator("#id_flow_json").fill(json.dumps(SIGN_UP, indent=2))
    page.get_by_role("button", name="Create the draft").click()
    expect(page.locator(".badge[data-status=DRAFT]")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Publish").click()
    expect(page.locator(".badge[data-status=PUBLISHED]")).to_have_text("Published")
    flow = WhatsAppFlow.objects.get()
    assert (flow.status, fake_meta.flows[flow.meta_flow_id]["status"]) == ("PUBLISHED", "PUBLISHED")

    # The customer fills it in (sent earlier with a token of this flow) and WhatsApp posts the answers.
    fake_meta.flow_reply(
        CUSTOMER, flow_token=f"{flow.pk}.abc", response={"full_name": "Sara Al-Harbi", "email": "sara@example.com"}
    )
    [delivered] = fake_meta.deliver_webhooks()
    assert delivered.status_code == 200
    conversation = Conversation.objects.get()

    open_inbox(page, login_session, admin, f"/inbox/{conversation.pk}/")
    answers = page.locator(".flow-answers").last
    expect(answers).to_contain_text("full_name")
    expect(answers).to_contain_text("Sara Al-Harbi")
    expect(answers).to_contain_text("sara@example.com")
    expect(page.locator(".bubble, .msg").filter(has_text='"flow_token"')).to_have_count(0)

    # The agent sends the flow again from the composer: the published flows of this number's account.
    page.locator("#flow-button").click()
    expect(page.locator("#flow-dialog")).to_be_visible()
    expect(page.locator("#flow-id")).to_have_value(str(flow.pk))
    page.locator("#flow-cta").fill("Book now")
    page.locator("#flow-send").click()
    expect(page.locator("#flow-dialog")).to_be_hidden()
    test_inbox.eventually(lambda: len(fake_meta.sends(type="interactive")) == 1)
    parameters = fake_meta.sends(type="interactive")[0]["interactive"]["action"]["parameters"]
    assert (parameters["flow_id"], parameters["flow_cta"]) == (flow.meta_flow_id, "Book now")
    assert parameters["flow_token"].startswith(f"{flow.pk}.")
    expect(page.locator(".chip", has_text="Book now")).to_be_visible()
    screenshot(page, "whatsapp-flow-thread")

    page.goto(f"/templates/whatsapp-flows/{flow.pk}/")
    expect(page.locator(".flow-responses")).to_contain_text("sara@example.com")
    screenshot(page, "whatsapp-flow-detail")
    page.goto("/templates/whatsapp-flows/")
    screenshot(page, "whatsapp-flows")
    page.set_viewport_size({"width": 768, "height": 900})
    page.goto(f"/templates/whatsapp-flows/{flow.pk}/")
    screenshot(page, "whatsapp-flow-detail-768")

    login_session(arabic_page, admin.user)
    arabic_page.goto("/templates/whatsapp-flows/")
    expect(arabic_page.locator("html")).to_have_attribute("dir", "rtl")
    expect(arabic_page.locator("h1")).to_contain_text("نماذج WhatsApp")
    expect(arabic_page.locator(".badge[data-status=PUBLISHED]")).to_have_text("منشور")
    screenshot(arabic_page, "whatsapp-flows-ar")
    arabic_page.goto(f"/templates/whatsapp-flows/{flow.pk}/")
    screenshot(arabic_page, "whatsapp-flow-detail-ar")
    arabic_page.set_viewport_size({"width": 768, "height": 900})
    screenshot(arabic_page, "whatsapp-flow-detail-ar-768")
    arabic_page.goto(f"/inbox/{conversation.pk}/")
    expect(arabic_page.locator(".flow-answers").last).to_contain_text("Sara Al-Harbi")
    screenshot(arabic_page, "whatsapp-flow-thread-ar")


def test_meta_blocking_a_flow_shows_on_its_pages_without_a_reload(
    page: Page, arabic_page: Page, login_session, admin, cloud_number, fake_meta: FakeMetaServer, screenshot
):
    at_meta = fake_meta.add_flow(waba_id=cloud_number.waba_id, name="Visit booking", status="PUBLISHED")
    flow = WhatsAppFlowFactory(
        organization=admin.organization,
        number=cloud_number,
        meta_flow_id=at_meta["id"],
        name="Visit booking",
        status="PUBLISHED",
    )
    login_session(page, admin.user)
    with page.expect_websocket() as opened:
        page.goto("/templates/whatsapp-flows/")
    opened.value.wait_for_event("framereceived")  # hello: the socket hears the organization's pushes
    row = page.locator("tr", has=page.get_by_role("link", name="Visit booking", exact=True))
    expect(row.locator("[data-status]")).to_have_text("Published")

    # The flow's endpoint keeps failing: Meta alerts, then blocks the flow.
    fake_meta.flow_alert(at_meta["id"], "ENDPOINT_ERROR_RATE")
    fake_meta.change_flow_status(at_meta["id"], "BLOCKED")
    assert [response.status_code for response in fake_meta.deliver_webhooks()] == [200, 200]

    expect(row.locator("[data-status]")).to_have_text("Blocked")  # no reload
    expect(row.locator("[data-alert]")).to_contain_text(
        "Endpoint error rate: 14.28% of requests failed (threshold 10%)"
    )
    screenshot(page, "whatsapp-flows-blocked")
    page.goto(f"/templates/whatsapp-flows/{flow.pk}/")
    health = page.locator(".flow-health")
    expect(health).to_contain_text("Meta blocked this flow: it cannot be sent")
    expect(health).to_contain_text("CAPABILITY_ERROR 2 times")
    expect(page.get_by_role("button", name="Deprecate")).to_have_count(0)
    screenshot(page, "whatsapp-flow-blocked")
    page.set_viewport_size({"width": 768, "height": 900})
    screenshot(page, "whatsapp-flow-blocked-768")

    login_session(arabic_page, admin.user)
    arabic_page.goto("/templates/whatsapp-flows/")
    expect(arabic_page.locator(".badge[data-status=BLOCKED]")).to_have_text("محظور")
    expect(arabic_page.locator("[data-alert]")).to_contain_text("نسبة أخطاء نقطة النهاية")
    screenshot(arabic_page, "whatsapp-flows-blocked-ar")
    arabic_page.goto(f"/templates/whatsapp-flows/{flow.pk}/")
    expect(arabic_page.locator(".flow-health")).to_contain_text("حظرت Meta هذا النموذج")
    screenshot(arabic_page, "whatsapp-flow-blocked-ar")
