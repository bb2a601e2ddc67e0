"""Settings > E-mail log in a browser: an invitation goes out through the e-mail pipeline and shows as sent; the
admin filters the log; a failed e-mail shows its error and attachment; the page in Arabic, right to left."""

from playwright.sync_api import Page, expect

from accounts.models import EmailLog, Role
from tests.accounts.mail_support import email_log
from tests.factories import MembershipFactory, OrganizationFactory


def _acme(language: str = ""):
    org = OrganizationFactory(name="Acme")
    admin = MembershipFactory(
        organization=org,
        role=Role.ADMIN,
        user__name="Dana Admin",
        user__email="dana@acme.example",
        user__language=language,
    )
    return org, admin


def _failed_digest(org) -> EmailLog:
    return email_log(
        org,
        kind=EmailLog.Kind.DIGEST,
        recipient="omar@acme.example",
        subject="Your weekly digest",
        status=EmailLog.Status.FAILED,
        attempts=7,
        last_error="SMTPServerDisconnected: Connection unexpectedly closed",
        attachments=[("weekly-report.csv", 18_432)],
    )


def test_an_invitation_shows_in_the_e_mail_log_and_the_admin_filters_it(
    page: Page, login_session, read_outbox, screenshot
):
    org, admin = _acme()
    _failed_digest(org)
    login_session(page, admin.user)
    page.goto("/settings/team/")
    page.get_by_role("link", name="Invite people").click()
    page.get_by_label("E-mail").fill("layla@example.com")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("status").first).to_contain_text("Invitation e-mailed to layla@example.com.")
    (message,) = read_outbox()
    assert message["To"] == "layla@example.com"
    assert message.get_body(("html",)) is not None

    page.get_by_role("link", name="E-mail log").click()
    expect(page.get_by_role("link", name="E-mail log")).to_have_attribute("aria-current", "page")
    rows = page.locator("#email-log tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("layla@example.com")
    expect(rows.first).to_contain_text("Invitation")
    expect(rows.first).to_contain_text("You are invited to Acme on WhatsApp Hub")
    expect(rows.first.locator(".badge")).to_have_text("Sent")
    expect(rows.nth(1).locator(".badge")).to_have_text("Failed")
    expect(rows.nth(1)).to_contain_text("weekly-report.csv")
    expect(rows.nth(1)).to_contain_text("SMTPServerDisconnected")
    screenshot(page, "email-log-en", full_page=True)
    page.screenshot(path="/tmp/shots/email-log-en.png", full_page=True)
    page.set_viewport_size({"width": 768, "height": 900})
    page.screenshot(path="/tmp/shots/email-log-en-768.png", full_page=True)

    page.get_by_label("Status").select_option("failed")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("omar@acme.example")
    page.get_by_label("Status").select_option("")
    page.get_by_label("Recipient").fill("nobody")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("heading", name="No e-mail matches")).to_be_visible()


def test_the_e_mail_log_in_arabic_right_to_left(arabic_page: Page, login_session, screenshot):
    page = arabic_page
    org, admin = _acme(language="ar")
    subject = "أنت مدعو إلى Acme على WhatsApp Hub"
    email_log(org, kind=EmailLog.Kind.INVITATION, recipient="layla@example.com", subject=subject)
    _failed_digest(org)
    login_session(page, admin.user)
    page.goto("/settings/email-log/")

    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.get_by_role("heading", name="سجل البريد الإلكتروني")).to_be_visible()
    rows = page.locator("#email-log tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(1).locator(".badge")).to_have_text("أُرسلت")
    expect(rows.nth(0).locator(".badge")).to_have_text("فشلت")
    screenshot(page, "email-log-ar", full_page=True)
    page.screenshot(path="/tmp/shots/email-log-ar.png", full_page=True)
    page.set_viewport_size({"width": 768, "height": 900})
    page.screenshot(path="/tmp/shots/email-log-ar-768.png", full_page=True)


def test_an_agent_may_not_read_the_e_mail_log(page: Page, login_session):
    org, _ = _acme()
    agent = MembershipFactory(organization=org, role=Role.AGENT)
    email_log(org, recipient="layla@example.com")
    login_session(page, agent.user)
    page.goto("/settings/email-log/")
    expect(page.get_by_text("This page is for admins of")).to_be_visible()
    expect(page.get_by_text("layla@example.com")).to_have_count(0)
