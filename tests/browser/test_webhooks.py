"""Settings > Webhooks in a browser: an admin creates an endpoint pointing at a local receiver, copies its secret
(shown once), sends a test ping and sees it delivered in the log; a customer's message then arrives at the receiver,
signed, and its delivery appears in the open log without a reload (the live socket); the pages in Arabic."""

import json
import re

from playwright.sync_api import Page, expect

from automation.models import WebhookEndpoint
from tests.automation.webhooks_support import verify_signature
from tests.browser.harness import DemoOrg


def _create(page: Page, url: str) -> WebhookEndpoint:
    page.goto("/settings/webhooks/")
    expect(page.get_by_role("heading", name="No webhooks yet")).to_be_visible()
    page.get_by_label("URL", exact=True).fill(url)
    page.get_by_label("Description").fill("Order desk")
    page.locator('input[name="events"][value="message.received"]').check()
    page.locator('input[name="events"][value="conversation.created"]').check()
    page.get_by_role("button", name="Create webhook").click()
    expect(page.get_by_text("Copy the signing secret now: it is shown only this once.")).to_be_visible()
    return WebhookEndpoint.objects.get()


def test_an_admin_creates_a_webhook_pings_it_and_watches_a_delivery_arrive(
    page: Page, login_session, demo_org: DemoOrg, webhook_receiver, screenshot
):
    login_session(page, demo_org.admin.user)

    endpoint = _create(page, f"{webhook_receiver.url}/orders")

    secret = page.locator("#webhook-secret")
    expect(secret).to_have_value(endpoint.secret)
    expect(page.get_by_role("button", name="Copy")).to_be_visible()

    page.get_by_role("button", name="Send test ping").click()
    expect(
        page.get_by_text(re.compile(r"Test ping delivered: the endpoint answered HTTP 200 in \d+ ms\."))
    ).to_be_visible()
    row = page.locator("#webhook-log tbody tr").first
    expect(row).to_contain_text("ping")
    expect(row).to_contain_text("Succeeded")
    expect(row.locator("td.num").first).to_have_text("200")
    expect(page.locator("#webhook-secret")).to_have_count(0)  # shown once
    [ping] = webhook_receiver.requests
    assert json.loads(ping.body)["type"] == "ping"
    assert verify_signature(ping.headers["X-Webhook-Signature"], ping.body, endpoint.secret)

    # A customer writes (the sandbox number plays the customer, in the server): the event reaches the receiver, and
    # its delivery shows in the log the page has open.
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    answer = page.request.post(
        "/api/v1/sandbox/inbound",
        data={"from": "+14155550123", "name": "Alex", "text": "Is my order ready?"},
        headers={"X-CSRFToken": csrf, "Referer": page.url},
    )
    assert answer.status == 202, answer.text()

    expect(page.locator("#webhook-log tbody tr")).to_have_count(3)  # ping, conversation.created, message.received
    expect(page.locator("#webhook-log tbody")).to_contain_text("message.received")
    expect(page.locator('#webhook-log tbody tr[data-status="succeeded"]')).to_have_count(3)
    received = [json.loads(request.body) for request in webhook_receiver.requests[1:]]
    assert sorted(event["type"] for event in received) == ["conversation.created", "message.received"]
    message = next(event for event in received if event["type"] == "message.received")
    assert (message["data"]["phone"], message["data"]["text"]) == ("+14155550123", "Is my order ready?")
    assert all(
        verify_signature(request.headers["X-Webhook-Signature"], request.body, endpoint.secret)
        for request in webhook_receiver.requests
    )
    screenshot(page, "webhook-en", full_page=True)


def test_in_arabic_the_webhooks_pages_are_right_to_left(
    arabic_page: Page, login_session, demo_org: DemoOrg, webhook_receiver, screenshot
):
    page = arabic_page
    login_session(page, demo_org.admin.user)
    page.goto("/settings/webhooks/")

    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.get_by_role("heading", name="Webhook جديد")).to_be_visible()
    page.get_by_label("عنوان URL", exact=True).fill(f"{webhook_receiver.url}/orders")
    page.locator('input[name="events"][value="message.received"]').check()
    page.get_by_role("button", name="إنشاء Webhook").click()
    expect(page.get_by_text("انسخ سر التوقيع الآن: لن يظهر إلا هذه المرة.")).to_be_visible()
    page.get_by_role("button", name="إرسال إشعار اختبار").click()
    expect(page.locator("#webhook-log tbody tr").first).to_contain_text("نجح")
    screenshot(page, "webhook-ar", full_page=True)
    page.goto("/settings/webhooks/")
    expect(page.locator(".webhooks-table tbody tr")).to_have_count(1)
