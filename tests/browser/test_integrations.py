"""Settings > Integrations in a browser: an admin sees a card per integration, clicks "Test now" on a webhook and a
Cloud number and sees each card change without a reload (a failing Meta token included); the page in Arabic."""

import re

from playwright.sync_api import Page, expect

from accounts.models import Role
from tests.automation.webhooks_support import WebhookEndpointFactory
from tests.factories import MembershipFactory, OrganizationFactory
from tests.messaging.factories import WhatsAppNumberFactory


def _acme(webhook_receiver):
    """Acme (in Riyadh's time zone), its admin, two Cloud numbers, a sandbox number and a webhook to the receiver."""
    org = OrganizationFactory(name="Acme", settings={"timezone": "Asia/Riyadh"})
    admin = MembershipFactory(organization=org, role=Role.ADMIN, user__name="Dana Admin")
    sales = WhatsAppNumberFactory(organization=org, display_name="Sales", messaging_limit_tier="TIER_2K")
    support = WhatsAppNumberFactory(organization=org, display_name="Support")
    WhatsAppNumberFactory(organization=org, display_name="Demo line", provider="sandbox", phone_number="")
    endpoint = WebhookEndpointFactory(organization=org, url=f"{webhook_receiver.url}/orders", description="Order desk")
    return admin, sales, support, endpoint


def _card(page: Page, key: str):
    return page.locator(f'.integration-card[data-key="{key}"]')


def test_an_admin_tests_integrations_and_sees_the_cards_change(
    page: Page, login_session, fake_meta, webhook_receiver, screenshot
):
    admin, sales, support, endpoint = _acme(webhook_receiver)
    fake_meta.add_phone_number(sales.phone_number_id, "15550001111")
    fake_meta.add_phone_number(support.phone_number_id, "15550002222")
    fake_meta.revoke_token(support.access_token)
    login_session(page, admin.user)
    page.goto("/settings/integrations/")
    expect(page.get_by_role("link", name="Integrations")).to_have_attribute("aria-current", "page")

    webhook = _card(page, f"webhook-{endpoint.pk}")
    expect(webhook).to_have_attribute("data-state", "unknown")
    expect(webhook.locator('[data-role="state"]')).to_have_text("Not checked yet")
    webhook.get_by_role("button", name="Test now").click()
    expect(webhook).to_have_attribute("data-state", "ok")
    expect(webhook.locator('[data-role="state"]')).to_have_text("Working")
    expect(webhook.locator('[data-role="last-success"] time')).to_have_text("just now")
    assert len(webhook_receiver.requests) == 1

    card = _card(page, f"whatsapp_number-{sales.pk}")
    card.get_by_role("button", name="Test now").click()
    expect(card).to_have_attribute("data-state", "ok")
    expect(card.locator(".integration-facts")).to_contain_text("GREEN")
    expect(card.locator(".integration-facts")).to_contain_text("2,000")

    failing = _card(page, f"whatsapp_number-{support.pk}")
    failing.get_by_role("button", name="Test now").click()
    expect(failing).to_have_attribute("data-state", "failing")
    expect(failing.locator('[data-role="error"]')).to_have_text(
        "Meta refused the access token: connect the number again with a new token."
    )
    expect(page.locator('[data-count="failing"]')).to_have_text("1")
    expect(page.locator('[data-count="ok"]')).to_have_text("3")  # the sandbox number, Sales, the webhook
    expect(failing.get_by_role("link", name="Settings")).to_have_attribute("href", f"/settings/numbers/{support.pk}/")

    failing.get_by_role("button", name="Test now").click()  # again at once: the rate limit says so on the card
    expect(failing.locator('[data-role="status"]')).to_have_text(
        re.compile(r"This integration was tested a moment ago: try again in \d+ seconds\.")
    )
    expect(_card(page, "llm")).to_have_attribute("data-state", "not_configured")
    page.set_viewport_size({"width": 1366, "height": 768})
    screenshot(page, "integrations-en", full_page=True)
    page.set_viewport_size({"width": 768, "height": 900})
    screenshot(page, "integrations-en-768", full_page=True)
    page.set_viewport_size({"width": 1366, "height": 768})
    _card(page, "email").scroll_into_view_if_needed()
    screenshot(page, "integrations-en-end")


def test_in_arabic_the_integrations_page_is_right_to_left(
    arabic_page: Page, login_session, fake_meta, webhook_receiver, screenshot
):
    page = arabic_page
    admin, sales, _, _ = _acme(webhook_receiver)
    fake_meta.add_phone_number(sales.phone_number_id, "15550001111")
    login_session(page, admin.user)
    page.goto("/settings/integrations/")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.get_by_role("link", name="التكاملات")).to_have_attribute("aria-current", "page")
    card = _card(page, f"whatsapp_number-{sales.pk}")
    card.get_by_role("button", name="افحص الآن").click()
    expect(card.locator('[data-role="state"]')).to_have_text("يعمل")
    expect(card.locator('[data-role="last-success"] time')).to_have_text("الآن")
    expect(card.locator("bdi[dir=ltr]")).to_have_text(sales.phone_number)
    page.set_viewport_size({"width": 1366, "height": 768})
    screenshot(page, "integrations-ar", full_page=True)
    page.set_viewport_size({"width": 768, "height": 900})
    screenshot(page, "integrations-ar-768", full_page=True)
