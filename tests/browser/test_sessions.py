"""Account > Sessions in a browser: a person signed in on two devices signs the other one out from the first, and
the other is signed out at its next page; the page in Arabic, right to left."""

from playwright.sync_api import Page, expect

from accounts.models import Role
from tests.factories import PASSWORD, MembershipFactory, OrganizationFactory

PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 "
    "Mobile/15E148 Safari/604.1"
)


def sign_in(page: Page, email: str, *, button: str = "Sign in", email_label: str = "E-mail") -> None:
    page.goto("/sign-in/")
    page.get_by_label(email_label).fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(lambda url: "/sign-in/" not in url)


def test_a_person_signs_their_other_device_out_and_it_is_signed_out_at_once(
    page, new_context, daphne_server, screenshot
):
    membership = MembershipFactory(organization=OrganizationFactory(name="Acme"), role=Role.AGENT)
    email = membership.user.email
    phone = new_context(user_agent=PHONE).new_page()
    sign_in(phone, email)
    expect(phone).to_have_url(f"{daphne_server.url}/inbox/")
    sign_in(page, email)

    page.locator("details.rail-menu summary.rail-item").click()
    page.get_by_role("link", name="Your sessions").click()
    expect(page.get_by_role("heading", name="Your sessions")).to_be_visible()
    rows = page.locator("[data-sessions] tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("This browser")
    expect(rows.nth(1)).to_contain_text("Mobile Safari 17 on iOS (iPhone)")
    page.screenshot(path="/tmp/shots/sessions-en.png")
    screenshot(page, "account-sessions")

    rows.nth(1).get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_contain_text("The session is signed out.")
    expect(rows).to_have_count(1)
    expect(page.get_by_text("No other session is signed in to your account.")).to_be_visible()

    phone.reload()
    expect(phone).to_have_url(f"{daphne_server.url}/sign-in/?next=/inbox/")
    page.reload()  # this browser is still signed in
    expect(page.get_by_role("heading", name="Your sessions")).to_be_visible()


def test_the_sessions_page_in_arabic_signs_all_others_out(arabic_page, new_context, daphne_server):
    membership = MembershipFactory(organization=OrganizationFactory(name="Acme"), role=Role.ADMIN)
    email = membership.user.email
    phone = new_context(user_agent=PHONE).new_page()
    sign_in(phone, email)
    sign_in(arabic_page, email, email_label="البريد الإلكتروني")

    arabic_page.goto("/account/sessions/")
    expect(arabic_page.locator("html")).to_have_attribute("dir", "rtl")
    expect(arabic_page.get_by_role("heading", name="جلساتك")).to_be_visible()
    expect(arabic_page.locator("[data-sessions] tbody tr")).to_have_count(2)
    arabic_page.screenshot(path="/tmp/shots/sessions-ar.png")

    arabic_page.get_by_role("button", name="تسجيل الخروج من كل الجلسات الأخرى").click()
    expect(arabic_page.get_by_role("status")).to_contain_text("تم تسجيل الخروج من 1 جلسة أخرى.")
    expect(arabic_page.locator("[data-sessions] tbody tr")).to_have_count(1)
    phone.goto("/contacts/")
    expect(phone).to_have_url(f"{daphne_server.url}/sign-in/?next=/contacts/")
