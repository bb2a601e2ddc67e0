"""The public account pages in a browser: a password reset and an invitation followed from the e-mail the server
sent, and the sign-in page right-to-left in Arabic."""

import re

import requests
from playwright.sync_api import Page, expect

from accounts.models import Membership, Role
from tests.factories import PASSWORD, MembershipFactory, OrganizationFactory

NEW_PASSWORD = "fresh-secret-2025"


def link_in(mail, server_url: str, path: str) -> str:
    text = mail.get_body(("plain",)).get_content()
    return re.search(rf"^({re.escape(server_url)}{path}\?token=\S+)$", text, re.MULTILINE).group(1)


def open_account_menu(page: Page) -> None:
    page.locator("details.rail-menu summary.rail-item").click()


def test_a_forgotten_password_is_reset_from_the_e_mailed_link(page, daphne_server, read_outbox, screenshot):
    membership = MembershipFactory(organization=OrganizationFactory(name="Acme"))
    email = membership.user.email

    page.goto("/sign-in/")
    page.get_by_role("link", name="Forgot password?").click()
    page.get_by_label("E-mail").fill(email)
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("status")).to_contain_text(f"If an account exists for {email}")

    [mail] = read_outbox()
    assert mail["To"] == email
    page.goto(link_in(mail, daphne_server.url, "/reset-password"))
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label("New password").fill("12345678")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("#id_new_password_error li")).to_have_text(
        ["This password is too common.", "This password is entirely numeric."]
    )
    screenshot(page, "account-reset-password")
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("heading", name="Password changed")).to_be_visible()

    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Invalid e-mail or password.")
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{daphne_server.url}/inbox/")


def test_an_invitation_is_accepted_from_the_e_mailed_link_into_the_organization_s_inbox(
    page, daphne_server, read_outbox, screenshot
):
    admin = MembershipFactory(organization=OrganizationFactory(name="Acme"), role=Role.ADMIN)
    login = requests.post(
        f"{daphne_server.url}/api/v1/auth/login", json={"email": admin.user.email, "password": PASSWORD}, timeout=10
    )
    invited = requests.post(
        f"{daphne_server.url}/api/v1/admin/access-list",
        json={"email": "new.agent@example.com", "role": Role.AGENT},
        headers={"Authorization": f"Bearer {login.json()['access_token']}"},
        timeout=10,
    )
    assert invited.status_code == 201, invited.text
    [mail] = read_outbox()

    page.goto(link_in(mail, daphne_server.url, "/accept-invite"))
    expect(page.get_by_role("heading", name="Join Acme")).to_be_visible()
    expect(page.get_by_label("E-mail")).to_have_value("new.agent@example.com")
    screenshot(page, "account-accept-invitation")
    page.get_by_label("Your name").fill("Nadia Agent")
    page.get_by_label("Choose a password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Create account and join").click()

    expect(page).to_have_url(f"{daphne_server.url}/inbox/")
    joined = Membership.objects.select_related("user").get(user__email="new.agent@example.com")
    assert (joined.organization_id, joined.role, joined.user.name) == (admin.organization_id, Role.AGENT, "Nadia Agent")
    page.goto("/dashboard/")
    open_account_menu(page)
    expect(page.locator(".menu-head")).to_contain_text("Nadia Agent")
    expect(page.locator(".menu-head")).to_contain_text("Acme · Agent")


def test_the_sign_in_page_in_arabic_is_right_to_left(arabic_page, screenshot):
    arabic_page.goto("/sign-in/")

    expect(arabic_page.locator("html")).to_have_attribute("dir", "rtl")
    expect(arabic_page.locator("html")).to_have_attribute("lang", "ar")
    # The e-mail is typed left to right inside the right-to-left page.
    expect(arabic_page.locator("#id_email")).to_have_attribute("dir", "ltr")
    card = arabic_page.locator(".public-card").bounding_box()
    heading = arabic_page.locator(".public-card h1").bounding_box()
    forgot, create = (arabic_page.locator(".public-links a").nth(n).bounding_box() for n in (0, 1))
    # Text starts on the right: the heading hugs the card's right edge, and the first link is the right one.
    assert card["x"] + card["width"] - (heading["x"] + heading["width"]) < 40
    assert forgot["x"] > create["x"]
    screenshot(arabic_page, "sign-in-arabic")
