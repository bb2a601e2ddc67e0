"""Two-step sign-in in a browser: a person sets it up on Account > Security (the key read from the page, the code
computed as their authenticator app would), keeps the recovery codes, signs out, signs in with a code ticking "trust
this browser", then signs in again without one; the security page and the second step in Arabic, right to left."""

from datetime import timedelta
from pathlib import Path

import pyotp
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts import two_factor
from accounts.models import Role, TrustedDevice
from tests.factories import PASSWORD, MembershipFactory, OrganizationFactory

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)


def sign_in_with_password(page: Page, email: str) -> None:
    page.goto("/sign-in/")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(lambda url: url.rstrip("/").split("/")[-1] != "sign-in")


def sign_out(page: Page) -> None:
    page.locator("details.rail-menu summary.rail-item").click()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/sign-in/")


def code(secret: str, steps_ahead: int = 0) -> str:
    return pyotp.TOTP(secret).at(timezone.now() + timedelta(seconds=30 * steps_ahead))


def test_a_person_sets_it_up_then_signs_in_with_a_code_and_trusts_the_browser(new_context, daphne_server, screenshot):
    membership = MembershipFactory(organization=OrganizationFactory(name="Acme"), role=Role.AGENT)
    email = membership.user.email
    page = new_context(user_agent=CHROME).new_page()
    sign_in_with_password(page, email)
    expect(page).to_have_url(f"{daphne_server.url}/inbox/")

    page.locator("details.rail-menu summary.rail-item").click()
    page.get_by_role("link", name="Two-step sign-in").click()
    expect(page.get_by_role("heading", name="Security")).to_be_visible()
    expect(page.get_by_text("No browser is trusted: every sign-in asks for a code.")).to_be_visible()
    page.get_by_role("button", name="Set up two-step sign-in").click()
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    secret = page.locator("[data-totp-secret]").get_attribute("data-totp-secret")
    page.screenshot(path="/tmp/shots/two-step-enrol-en.png")
    enrolled_with = code(secret)
    page.get_by_label("Code from the app").fill(enrolled_with)
    page.get_by_role("button", name="Turn on two-step sign-in").click()

    expect(page.locator(".flash")).to_contain_text("Two-step sign-in is on.")
    codes = page.locator("[data-recovery-codes] li")
    expect(codes).to_have_count(10)
    shown = codes.all_inner_texts()
    expect(page.get_by_role("button", name="Copy")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download").click()
    saved = download.value
    assert saved.suggested_filename == "whatsapp-hub-recovery-codes.txt"
    assert Path(saved.path()).read_text(encoding="utf-8").split() == shown
    page.screenshot(path="/tmp/shots/two-step-codes-en.png")
    screenshot(page, "account-two-step-codes")
    page.reload()
    expect(codes).to_have_count(0)  # shown once
    expect(page.locator("[data-recovery-codes-left]")).to_have_text("10")

    sign_out(page)
    sign_in_with_password(page, email)
    expect(page).to_have_url(f"{daphne_server.url}/sign-in/two-step/")
    expect(page.get_by_role("heading", name="Two-step sign-in")).to_be_visible()
    page.screenshot(path="/tmp/shots/two-step-sign-in-en.png")
    page.get_by_label("Code from the app").fill(enrolled_with)  # enrolment's code (its step or older): refused
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("This code is not valid, or was already used.")).to_be_visible()
    page.get_by_label("Code from the app").fill(code(secret, 1))
    page.get_by_label("Trust this browser for 30 days").check()
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(f"{daphne_server.url}/inbox/")
    trust = [cookie for cookie in page.context.cookies() if cookie["name"] == two_factor.TRUST_COOKIE]
    assert len(trust) == 1 and trust[0]["httpOnly"] is True

    sign_out(page)
    sign_in_with_password(page, email)
    expect(page).to_have_url(f"{daphne_server.url}/inbox/")  # no code asked on the trusted browser

    page.goto("/account/security/")
    rows = page.locator("[data-trusted-devices] tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Chrome 120 on Windows")
    page.screenshot(path="/tmp/shots/two-step-on-en.png", full_page=True)
    screenshot(page, "account-security")
    rows.first.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("status")).to_contain_text("The browser is no longer trusted")
    expect(rows).to_have_count(0)
    assert TrustedDevice.objects.get(user=membership.user).revoked_at is not None


def test_the_security_page_and_the_second_step_in_arabic(new_context, daphne_server, login_session):
    membership = MembershipFactory(organization=OrganizationFactory(name="أكمي"), role=Role.ADMIN)
    user = membership.user
    secret = two_factor.two_factor_enrolment_start(user=user).secret
    two_factor.two_factor_enrolment_confirm(user=user, code=code(secret))
    TrustedDevice.objects.create(
        user=user,
        token_hash="0" * 64,
        label="Chrome 120 on Windows",
        user_agent=CHROME,
        expires_at=timezone.now() + timedelta(days=30),
    )
    page = new_context(locale="ar").new_page()
    login_session(page, user)

    page.goto("/account/security/")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.get_by_role("heading", name="الأمان")).to_be_visible()
    expect(page.get_by_role("heading", name="تسجيل الدخول بخطوتين", exact=True)).to_be_visible()
    expect(page.locator("[data-trusted-devices] tbody tr")).to_have_count(1)
    page.screenshot(path="/tmp/shots/two-step-on-ar.png", full_page=True)
    page.set_viewport_size({"width": 768, "height": 1024})
    page.screenshot(path="/tmp/shots/two-step-on-ar-768.png", full_page=True)

    anonymous = new_context(locale="ar").new_page()
    sign_in_with_password(anonymous, user.email)
    expect(anonymous).to_have_url(f"{daphne_server.url}/sign-in/two-step/")
    expect(anonymous.get_by_role("heading", name="تسجيل الدخول بخطوتين", exact=True)).to_be_visible()
    anonymous.get_by_role("link", name="فقدت هاتفك؟ استخدم رمز استرداد").click()
    expect(anonymous.get_by_label("رمز الاسترداد")).to_be_visible()
    anonymous.screenshot(path="/tmp/shots/two-step-sign-in-ar.png")


def test_an_admin_requires_it_of_admins_on_the_organization_page(page, login_session):
    membership = MembershipFactory(organization=OrganizationFactory(name="Acme"), role=Role.ADMIN)
    secret = two_factor.two_factor_enrolment_start(user=membership.user).secret
    two_factor.two_factor_enrolment_confirm(user=membership.user, code=code(secret))
    login_session(page, membership.user)

    page.goto("/settings/organization/")
    box = page.get_by_label("Require two-step sign-in for admins")
    box.scroll_into_view_if_needed()
    page.screenshot(path="/tmp/shots/two-step-org-setting-en.png")
    box.check()
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("status")).to_contain_text("Organization settings saved.")
    expect(page.get_by_label("Require two-step sign-in for admins")).to_be_checked()
    membership.organization.refresh_from_db()
    assert membership.organization.settings["require_admin_two_factor"] is True
