"""The sign-in page's other ways in, in a browser: no Google button on a server without Google configured (the
configured case: tests/accounts/test_google_sign_in.py), and a sign-in by e-mailed link, in English and Arabic."""

import re

from playwright.sync_api import Page, expect

from tests.factories import MembershipFactory, OrganizationFactory, UserFactory


def test_the_google_button_is_hidden_when_google_is_not_configured(page: Page, screenshot):
    page.goto("/sign-in/")

    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.locator("[data-google-sign-in]")).to_have_count(0)
    expect(page.get_by_text("Sign in with Google")).to_have_count(0)
    expect(page.get_by_role("link", name="Email me a sign-in link")).to_be_visible()
    screenshot(page, "signin-options")
    page.screenshot(path="/tmp/shots/signin-sign-in-en.png")


def test_a_person_signs_in_with_the_e_mailed_link(page: Page, daphne_server, read_outbox, screenshot):
    membership = MembershipFactory(organization=OrganizationFactory(name="Acme"), user=UserFactory(name="Sam"))

    page.goto("/sign-in/")
    page.get_by_role("link", name="Email me a sign-in link").click()
    page.get_by_label("E-mail").fill(membership.user.email)
    page.screenshot(path="/tmp/shots/signin-link-request-en.png")
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect(page.get_by_role("status")).to_contain_text(f"If an account exists for {membership.user.email}")

    [mail] = read_outbox()
    assert mail["To"] == membership.user.email
    link = re.search(
        rf"^({re.escape(daphne_server.url)}/magic-link\?token=\S+)$", mail.get_body(("plain",)).get_content(), re.M
    )
    page.goto(link.group(1))
    expect(page.get_by_text(f"Sign in to WhatsApp Hub as {membership.user.email}?")).to_be_visible()
    page.screenshot(path="/tmp/shots/signin-link-confirm-en.png")
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(f"{daphne_server.url}/inbox/")
    page.goto(link.group(1))
    expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()


def test_the_sign_in_options_in_arabic(arabic_page: Page, daphne_server, read_outbox):
    membership = MembershipFactory(user=UserFactory(language="ar"))

    arabic_page.goto("/sign-in/")
    expect(arabic_page.locator("html")).to_have_attribute("dir", "rtl")
    arabic_page.screenshot(path="/tmp/shots/signin-sign-in-ar.png")
    arabic_page.get_by_role("link", name="أرسل لي رابط تسجيل الدخول بالبريد الإلكتروني").click()
    arabic_page.get_by_label("البريد الإلكتروني").fill(membership.user.email)
    arabic_page.screenshot(path="/tmp/shots/signin-link-request-ar.png")
    arabic_page.get_by_role("button", name="أرسل لي رابط تسجيل الدخول بالبريد الإلكتروني").click()
    expect(arabic_page.get_by_role("status")).to_be_visible()
    arabic_page.screenshot(path="/tmp/shots/signin-link-sent-ar.png")

    [mail] = read_outbox()
    assert mail["Subject"].strip() == "رابط تسجيل الدخول إلى WhatsApp Hub"
    link = re.search(r"(http\S+/magic-link\?token=\S+)", mail.get_body(("plain",)).get_content()).group(1)
    arabic_page.goto(link)
    arabic_page.screenshot(path="/tmp/shots/signin-link-confirm-ar.png")
    arabic_page.get_by_role("button", name="تسجيل الدخول").click()
    expect(arabic_page).to_have_url(re.compile(r"/inbox/$"))
