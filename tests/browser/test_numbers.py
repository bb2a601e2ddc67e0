"""Settings, WhatsApp numbers in the browser: a WAHA number connected against the fake WAHA (the QR appears, keeps
being fetched, and the status turns WORKING once the fake's phone scans it), a Cloud number's webhook URL copied with
its button, and a number's page in Arabic (right to left: a secret replaced, the number deleted by typing its name)."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from messaging.models import WhatsAppNumber
from tests.factories import MembershipFactory, OrganizationFactory
from tests.messaging.factories import WhatsAppNumberFactory


def wait_until(page, condition, *, seconds: float = 10) -> None:
    for _ in range(int(seconds * 10)):
        if condition():
            return
        page.wait_for_timeout(100)
    raise AssertionError("the condition did not come true in time")


@pytest.fixture
def admin(db):
    return MembershipFactory(organization=OrganizationFactory(name="Acme"), role=Role.ADMIN)


def test_a_waha_number_shows_its_qr_code_until_the_phone_is_linked(page, admin, login_session, fake_waha):
    login_session(page, admin.user)
    page.goto("/settings/numbers/")
    page.get_by_role("link", name="Connect a number").click()
    page.get_by_role("link", name="Connect a WAHA number").click()
    page.get_by_label("Display name").fill("Web line")
    page.get_by_label("WAHA API key").fill(fake_waha.api_key)
    page.get_by_role("button", name="Connect").click()

    number = WhatsAppNumber.objects.get(organization=admin.organization)
    expect(page).to_have_url(re.compile(rf"/settings/numbers/{number.pk}/session/$"))
    expect(page.locator("#session-status")).to_have_text("Stopped")
    page.get_by_role("button", name="Start the session").click()

    qr = page.get_by_role("img", name="QR code to scan with WhatsApp")
    expect(qr).to_be_visible()
    expect(qr).to_have_attribute("src", re.compile(r"^blob:"))
    assert qr.evaluate("image => image.complete && image.naturalWidth") == 21  # the fake's PNG, decoded
    expect(page.locator("#session-status")).to_have_text("Waiting for the QR code to be scanned")
    # A poll later the QR is fetched again: WhatsApp rotates it.
    wait_until(page, lambda: len(fake_waha.find_requests(method="GET", path=f"/api/{number.waha_session}/auth/qr")) > 1)

    page.get_by_text("Link with a phone number instead").click()
    page.get_by_label("Phone number of the WhatsApp account").fill("+966 50 111 2233")
    page.get_by_role("button", name="Get a code").click()
    expect(page.locator("#pairing-code")).to_have_text("ABCD-ABCD")

    fake_waha.scan_qr(number.waha_session, phone="966501112233", push_name="Acme Sales")

    expect(page.locator("#session-status")).to_have_text("Connected", timeout=10_000)
    expect(page.get_by_role("heading", name="The phone is linked")).to_be_visible()
    expect(page.locator("#session-me")).to_contain_text("+966501112233")
    expect(qr).to_be_hidden()
    requests_when_linked = len(fake_waha.find_requests())
    page.wait_for_timeout(3500)
    assert len(fake_waha.find_requests()) == requests_when_linked  # polling stopped
    number.refresh_from_db()
    assert (number.status, number.session_status, number.phone_number) == ("active", "WORKING", "+966501112233")


def test_a_cloud_number_shows_its_webhook_url_with_a_copy_button(page, admin, login_session, daphne_server, screenshot):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    login_session(page, admin.user)
    page.goto("/settings/numbers/new/cloud/")
    page.get_by_label("Display name").fill("Sales")
    page.get_by_label("Phone number (optional)").fill("+966 50 123 4567")
    page.get_by_label("Phone number ID").fill("109876543210")
    page.get_by_label("WhatsApp Business Account ID").fill("209876543210")
    page.get_by_label("Access token").fill("EAAG-the-access-token-0001")
    page.get_by_label("App secret").fill("the-app-secret-0002")
    page.get_by_role("button", name="Connect").click()

    webhook_url = f"{daphne_server.url}/webhooks/meta/{admin.organization_id}/phone/109876543210/"
    expect(page.get_by_role("heading", name="Sales is connected")).to_be_visible()
    expect(page.get_by_label("Callback URL")).to_have_value(webhook_url)
    verify_token = WhatsAppNumber.objects.get(organization=admin.organization).verify_token
    expect(page.get_by_label("Verify token")).to_have_value(verify_token)

    page.get_by_role("button", name="Copy Callback URL").click()
    expect(page.locator("#webhook-url-status")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == webhook_url
    page.get_by_role("button", name="Copy Verify token").click()
    assert page.evaluate("navigator.clipboard.readText()") == verify_token

    page.get_by_role("link", name="Done").click()
    expect(page.get_by_role("heading", name="Sales")).to_be_visible()
    assert "EAAG-the-access-token-0001" not in page.content() and verify_token not in page.content()
    WhatsAppNumberFactory(organization=admin.organization, display_name="Support", provider="waha", status="pending")
    page.goto("/settings/numbers/")
    expect(page.get_by_role("link", name="Sales", exact=True)).to_be_visible()
    screenshot(page, "numbers-en")


def test_a_number_s_page_works_right_to_left(arabic_page, admin, login_session):
    page = arabic_page
    number = WhatsAppNumberFactory(organization=admin.organization, display_name="خط المبيعات", is_primary=True)
    WhatsAppNumberFactory(organization=admin.organization, display_name="Support")
    login_session(page, admin.user)

    page.goto("/settings/numbers/")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    page.locator(f'a[href="/settings/numbers/{number.pk}/"][dir="auto"]').click()

    secret = page.locator("#id_access_token")
    expect(secret).to_be_hidden()
    page.locator('[aria-controls="id_access_token_new"]').click()
    expect(secret).to_be_visible()
    expect(secret).to_be_focused()
    assert number.access_token not in page.content()

    delete = page.locator("[data-confirm-delete]")
    expect(delete).to_be_disabled()
    page.locator("#id_confirm_name").fill("خط")
    expect(delete).to_be_disabled()
    page.locator("#id_confirm_name").fill("خط المبيعات")
    expect(delete).to_be_enabled()
    delete.click()

    expect(page).to_have_url(re.compile(r"/settings/numbers/$"))
    number.refresh_from_db()
    assert number.deleted_at is not None
    expect(page.locator(f'a[href="/settings/numbers/{number.pk}/"]')).to_have_count(0)


def test_the_session_page_says_what_failed_and_recovers_on_its_own(page, admin, login_session, fake_waha):
    number = WhatsAppNumberFactory(
        organization=admin.organization,
        provider="waha",
        phone_number_id="",
        waha_session=f"org{admin.organization_id}-web",
        waha_api_key=fake_waha.api_key,
        status="pending",
        session_status="SCAN_QR_CODE",
    )
    fake_waha.add_session(number.waha_session, status="SCAN_QR_CODE")
    fake_waha.fail_next(500)
    login_session(page, admin.user)

    page.goto(f"/settings/numbers/{number.pk}/session/")

    error = page.get_by_role("alert")
    expect(error).to_have_text("WAHA failed (HTTP 500).")
    assert "Scripted failure" not in page.content()  # WAHA's own words never reach the page
    expect(page.get_by_role("img", name="QR code to scan with WhatsApp")).to_be_visible(timeout=10_000)
    expect(error).to_be_hidden()
