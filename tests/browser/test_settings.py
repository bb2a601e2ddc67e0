"""The organization admin's settings pages in a browser: inviting a member, an API key's secret copied once, the
organization's time zone, the team page right to left in Arabic, and the reset of a member's two-step sign-in."""

import re

import pyotp
from playwright.sync_api import expect

from accounts import two_factor
from accounts.models import ApiKey, Invitation, Role
from tests.factories import MembershipFactory, OrganizationFactory


def _acme():
    """An organization with its admin (Dana) and an agent (Omar)."""
    org = OrganizationFactory(name="Acme")
    admin = MembershipFactory(
        organization=org, role=Role.ADMIN, user__name="Dana Admin", user__email="dana@acme.example"
    )
    agent = MembershipFactory(
        organization=org, role=Role.AGENT, user__name="Omar Agent", user__email="omar@acme.example"
    )
    return org, admin, agent


def test_an_admin_invites_a_member_and_sees_the_invitation_pending(page, login_session, read_outbox):
    org, admin, _ = _acme()
    login_session(page, admin.user)
    page.goto("/settings/")
    expect(page).to_have_url(re.compile(r"/settings/team/$"))
    page.get_by_role("link", name="Invite people").click()

    page.get_by_label("E-mail").fill("layla@example.com")
    page.get_by_label("Role").select_option("marketing")
    page.get_by_role("button", name="Send invitation").click()

    expect(page.get_by_role("status").first).to_contain_text("Invitation e-mailed to layla@example.com.")
    row = page.get_by_role("row").filter(has_text="layla@example.com")
    expect(row).to_contain_text("Pending")
    expect(row).to_contain_text("Marketing")
    expect(page.get_by_text("3 of 25 seats used")).to_be_visible()
    (message,) = read_outbox()
    assert message["To"] == "layla@example.com"
    assert "/accept-invite?token=" in message.get_body(("plain",)).get_content()
    assert Invitation.objects.for_org(org).get().status == Invitation.Status.PENDING


def test_an_admin_creates_an_api_key_and_copies_its_secret_once(page, daphne_server, login_session):
    org, admin, _ = _acme()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=daphne_server.url)
    login_session(page, admin.user)
    page.goto("/settings/api-keys/")
    expect(page.get_by_role("heading", name="No API keys yet")).to_be_visible()

    page.get_by_label("Name").fill("n8n production")
    page.get_by_role("button", name="Create key").click()

    secret = page.get_by_label("Secret")
    expect(secret).to_have_value(re.compile(r"^wh_[0-9a-f]{8}_[0-9a-f]{48}$"))
    page.get_by_role("button", name="Copy").click()
    expect(page.locator("#api-key-secret-status")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == secret.input_value()
    assert ApiKey.objects.for_org(org).get().name == "n8n production"

    page.reload()
    expect(page.get_by_label("Secret")).to_have_count(0)
    expect(page.get_by_text("cannot be shown again")).to_be_visible()


def test_an_admin_changes_the_organization_s_time_zone(page, login_session):
    org, admin, _ = _acme()
    login_session(page, admin.user)
    page.goto("/settings/organization/")
    time_zone = page.get_by_label("Time zone")
    expect(time_zone).to_have_value("UTC")

    time_zone.fill("Mars/Olympus")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#id_timezone_error")).to_have_text("Must be an IANA time zone name, e.g. Asia/Riyadh.")
    expect(time_zone).to_have_attribute("aria-invalid", "true")

    time_zone.fill("Asia/Riyadh")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").first).to_contain_text("Organization settings saved.")
    expect(page.get_by_label("Time zone")).to_have_value("Asia/Riyadh")
    org.refresh_from_db()
    assert org.settings == {"timezone": "Asia/Riyadh"}


def test_the_team_page_shows_the_last_admin_refusal_and_changes_a_role(page, login_session, screenshot):
    _, admin, _ = _acme()
    login_session(page, admin.user)
    page.goto("/settings/team/")

    page.get_by_label("Role of Dana Admin").select_option("agent")
    page.get_by_role("row").filter(has_text="Dana Admin").get_by_role("button", name="Change").click()
    expect(page.get_by_role("alert")).to_have_text("The last admin cannot be demoted: make someone else admin first.")

    page.get_by_label("Role of Omar Agent").select_option("marketing")
    page.get_by_role("row").filter(has_text="Omar Agent").get_by_role("button", name="Change").click()
    expect(page.get_by_role("status").first).to_contain_text("Omar Agent is now Marketing.")
    expect(page.get_by_label("Role of Omar Agent")).to_have_value("marketing")
    screenshot(page, "settings-team-en")


def test_in_arabic_the_team_page_is_right_to_left_and_a_member_is_deactivated(arabic_page, login_session, screenshot):
    page = arabic_page
    _, admin, agent = _acme()
    login_session(page, admin.user)
    page.goto("/settings/team/")

    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    rail, table = page.locator("nav.rail").bounding_box(), page.locator("table").bounding_box()
    assert rail["x"] > table["x"] + table["width"] - 1  # the rail on the right, the content on its left
    screenshot(page, "settings-team-ar")

    page.get_by_role("row").filter(has_text="Omar Agent").get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/settings/team/{agent.user_id}/deactivate/$"))
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/settings/team/$"))
    reactivate = page.locator(f'form[action="/settings/team/{agent.user_id}/activate/"] button')
    expect(reactivate).to_be_visible()
    agent.refresh_from_db()
    assert not agent.is_active


def test_an_admin_sets_the_business_hours_and_a_refused_day_shows_its_error(page, login_session, screenshot):
    org, admin, _ = _acme()
    login_session(page, admin.user)
    page.goto("/settings/organization/")
    expect(page.get_by_role("heading", name="Business hours")).to_be_visible()
    expect(page.get_by_label("Monday", exact=True)).not_to_be_checked()

    for day in ("Monday", "Tuesday"):
        page.get_by_label(day, exact=True).check()
    page.get_by_label("Monday opens at").fill("08:30")
    page.get_by_label("Tuesday closes at").fill("16:00")
    page.get_by_label("Sunday", exact=True).check()
    page.get_by_label("Sunday opens at").fill("17:00")
    page.get_by_label("Sunday closes at").fill("10:00")
    page.get_by_role("button", name="Save").click()

    expect(page.locator("#id_hours_sun_error")).to_have_text(
        "Sunday: closing time (10:00) must be after the opening time (17:00)."
    )
    expect(page.locator("#id_hours_mon_error")).to_have_count(0)
    expect(page.get_by_label("Monday opens at")).to_have_value("08:30")  # what was typed stays
    org.refresh_from_db()
    assert org.settings == {}
    page.locator("#id_hours_sun_error").scroll_into_view_if_needed()
    page.screenshot(path="/tmp/shots/hours-settings-error-en.png")
    screenshot(page, "settings-business-hours-error-en", full_page=True)

    page.get_by_label("Sunday closes at").fill("21:00")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").first).to_contain_text("Organization settings saved.")
    expect(page.get_by_label("Sunday closes at")).to_have_value("21:00")
    expect(page.get_by_label("Wednesday", exact=True)).not_to_be_checked()
    org.refresh_from_db()
    page.set_viewport_size({"width": 768, "height": 900})
    page.get_by_label("Sunday closes at").scroll_into_view_if_needed()
    page.screenshot(path="/tmp/shots/hours-settings-narrow-en.png")
    assert org.settings["business_hours"] == {
        "mon": ["08:30", "17:00"],
        "tue": ["09:00", "16:00"],
        "sun": ["17:00", "21:00"],
    }


def test_in_arabic_the_business_hours_are_right_to_left(arabic_page, login_session, screenshot):
    page = arabic_page
    org, admin, _ = _acme()
    org.settings = {"business_hours": {"sun": ["10:00", "14:00"]}}
    org.save(update_fields=["settings"])
    login_session(page, admin.user)

    page.goto("/settings/organization/")

    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.get_by_role("heading", name="ساعات العمل")).to_be_visible()
    expect(page.get_by_label("الأحد", exact=True)).to_be_checked()
    expect(page.get_by_label("وقت الفتح يوم الأحد")).to_have_value("10:00")
    page.get_by_label("الاثنين", exact=True).check()
    page.get_by_label("وقت الفتح يوم الاثنين").fill("18:00")
    page.get_by_role("button", name="حفظ").click()
    expect(page.locator("#id_hours_mon_error")).to_have_text(
        "الاثنين: يجب أن يكون وقت الإغلاق (17:00) بعد وقت الفتح (18:00)."
    )
    day, opening = page.locator("#id_hours_sun").bounding_box(), page.get_by_label("وقت الفتح يوم الأحد").bounding_box()
    assert day["x"] > opening["x"]  # the day's box on the right, its times to its left
    page.locator("#id_hours_mon_error").scroll_into_view_if_needed()
    page.screenshot(path="/tmp/shots/hours-settings-ar.png")
    screenshot(page, "settings-business-hours-ar", full_page=True)


def _with_two_step(membership) -> None:
    secret = two_factor.two_factor_enrolment_start(user=membership.user).secret
    two_factor.two_factor_enrolment_confirm(user=membership.user, code=pyotp.TOTP(secret).now())


def test_an_admin_resets_a_member_s_two_step_sign_in_from_the_team_page(page, login_session, read_outbox, screenshot):
    _, admin, agent = _acme()
    _with_two_step(agent)
    login_session(page, admin.user)
    page.goto("/settings/team/")
    row = page.get_by_role("row").filter(has_text="Omar Agent")
    expect(row).to_contain_text("Two-step")
    expect(page.get_by_role("row").filter(has_text="Dana Admin").get_by_role("link")).to_have_count(0)
    screenshot(page, "settings-team-two-step-en")

    row.get_by_role("link", name="Reset two-step Omar Agent").click()
    expect(page.get_by_role("heading", name="Reset two-step sign-in of Omar Agent?")).to_be_visible()
    screenshot(page, "settings-team-two-step-reset-en")
    page.get_by_role("link", name="Cancel").click()
    expect(page).to_have_url(re.compile(r"/settings/team/$"))
    assert two_factor.is_enabled(user=agent.user)

    row.get_by_role("link", name="Reset two-step Omar Agent").click()
    page.locator("main form").get_by_role("button", name="Reset two-step sign-in").click()

    expect(page).to_have_url(re.compile(r"/settings/team/$"))
    expect(page.get_by_role("status").first).to_contain_text(
        "Two-step sign-in of Omar Agent is off: they were signed out and told by e-mail."
    )
    expect(row).not_to_contain_text("Two-step")
    expect(row.get_by_role("link", name="Reset two-step Omar Agent")).to_have_count(0)
    assert not two_factor.is_enabled(user=agent.user)
    (message,) = read_outbox()
    assert message["To"] == "omar@acme.example"
    assert message["Subject"] == "Two-step sign-in was turned off on your WhatsApp Hub account"


def test_in_arabic_the_team_page_offers_the_two_step_reset(arabic_page, login_session, screenshot):
    page = arabic_page
    _, admin, agent = _acme()
    _with_two_step(agent)
    login_session(page, admin.user)
    page.goto("/settings/team/")

    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    row = page.get_by_role("row").filter(has_text="Omar Agent")
    expect(row).to_contain_text("بخطوتين")
    screenshot(page, "settings-team-two-step-ar")
    row.get_by_role("link", name="إعادة تعيين الخطوتين Omar Agent").click()
    expect(page.get_by_role("heading", name="إعادة تعيين تسجيل الدخول بخطوتين لـ Omar Agent؟")).to_be_visible()
    screenshot(page, "settings-team-two-step-reset-ar")
