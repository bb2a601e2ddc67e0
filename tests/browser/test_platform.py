"""The platform pages in a real browser: the super admin suspends an organization, views another as its admin (the
banner on every page, then stop), and the pages in English and Arabic."""

import re

import pyotp
import pytest
from playwright.sync_api import Page, expect

from accounts import two_factor
from accounts.models import AuditLog, Membership, Organization, Role
from tests.browser.harness import run_outside_browser_loop
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

SHOTS = "/tmp/shots"


@pytest.fixture
def staff(db):
    return UserFactory(is_staff=True, email="ops@platform.example", name="Platform Ops")


@pytest.fixture
def tenants(db):
    acme = OrganizationFactory(name="Acme Trading", slug="acme-trading")
    MembershipFactory(organization=acme, role=Role.ADMIN, user=UserFactory(email="boss@acme.example"))
    globex = OrganizationFactory(name="Globex", slug="globex", plan="starter")
    MembershipFactory(organization=globex, role=Role.ADMIN)
    return acme, globex


def _status(organization_id: int) -> str:
    return run_outside_browser_loop(lambda: Organization.objects.get(pk=organization_id).status)


def test_the_super_admin_suspends_and_reactivates_an_organization(page: Page, login_session, staff, tenants):
    acme, _ = tenants
    login_session(page, staff)
    page.goto("/platform/organizations/")
    page.get_by_role("link", name="Platform").first.wait_for()
    page.screenshot(path=f"{SHOTS}/superadmin-organizations-en.png", full_page=True)
    page.get_by_label("Search organizations").fill("acme")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("tbody tr")).to_have_count(1)

    page.get_by_role("link", name="Acme Trading").click()
    page.get_by_role("button", name="Suspend").click()

    expect(page.locator(".flash")).to_contain_text("Acme Trading is suspended.")
    expect(page.locator(".platform-head .badge")).to_have_text("Suspended")
    assert _status(acme.pk) == "suspended"
    page.screenshot(path=f"{SHOTS}/superadmin-organization-en.png", full_page=True)

    page.get_by_role("button", name="Reactivate").click()
    expect(page.locator(".platform-head .badge")).to_have_text("Active")
    assert _status(acme.pk) == "active"


def test_viewing_as_an_admin_shows_the_banner_until_stopped(page: Page, login_session, staff, tenants):
    acme, _ = tenants
    login_session(page, staff)
    page.goto(f"/platform/organizations/{acme.pk}/")
    page.get_by_role("button", name="View as its admin").click()

    banner = page.get_by_test_id("impersonation-banner")
    expect(banner).to_contain_text("You are viewing Acme Trading as its admin")
    page.goto("/settings/team/")
    expect(banner).to_be_visible()
    expect(page.locator("main")).to_contain_text("boss@acme.example")
    page.screenshot(path=f"{SHOTS}/superadmin-impersonation-en.png", full_page=True)

    banner.get_by_role("button", name="Stop viewing").click()

    expect(page).to_have_url(re.compile(rf"/platform/organizations/{acme.pk}/$"))
    expect(page.get_by_test_id("impersonation-banner")).to_have_count(0)
    actions = run_outside_browser_loop(
        lambda: list(AuditLog.objects.filter(organization=acme).order_by("id").values_list("action", flat=True))
    )
    assert actions[-2:] == ["impersonation.start", "impersonation.stop"]


def test_the_platform_pages_in_arabic(arabic_page: Page, login_session, staff, tenants):
    acme, _ = tenants
    boss = run_outside_browser_loop(lambda: Membership.objects.for_org(acme).get())
    run_outside_browser_loop(lambda: _with_two_step(boss.user))
    login_session(arabic_page, staff)
    for path, name in [
        ("/platform/", "stats"),
        ("/platform/organizations/", "organizations"),
        (f"/platform/organizations/{acme.pk}/", "organization"),
        ("/platform/plans/", "plans"),
        (f"/platform/organizations/{acme.pk}/delete/", "delete"),
        (f"/platform/organizations/{acme.pk}/members/{boss.user_id}/two-step/reset/", "two-step-reset"),
    ]:
        arabic_page.goto(path)
        expect(arabic_page.locator("html")).to_have_attribute("dir", "rtl")
        expect(arabic_page.locator("h1")).to_have_text("المنصة")
        arabic_page.screenshot(path=f"{SHOTS}/superadmin-{name}-ar.png", full_page=True)
    arabic_page.goto("/platform/")
    expect(arabic_page.locator("#plans-chart")).to_be_visible()


def test_the_stats_page_draws_its_charts(page: Page, login_session, staff, tenants):
    login_session(page, staff)
    page.goto("/platform/")
    expect(page.locator("#activity-chart")).to_be_visible()
    page.wait_for_function("() => window.Chart && Object.keys(window.Chart.instances).length === 2")
    page.screenshot(path=f"{SHOTS}/superadmin-stats-en.png", full_page=True)
    page.goto("/platform/plans/")
    page.screenshot(path=f"{SHOTS}/superadmin-plans-en.png", full_page=True)


def test_the_super_admin_resets_a_member_s_two_step_sign_in(page: Page, login_session, staff, tenants):
    acme, _ = tenants
    boss = run_outside_browser_loop(lambda: Membership.objects.for_org(acme).select_related("user").get())
    run_outside_browser_loop(lambda: _with_two_step(boss.user))
    login_session(page, staff)
    page.goto(f"/platform/organizations/{acme.pk}/")
    row = page.get_by_role("row").filter(has_text="boss@acme.example")
    expect(row).to_contain_text("Two-step")
    page.screenshot(path=f"{SHOTS}/superadmin-organization-members-en.png", full_page=True)

    row.get_by_role("link", name=re.compile("^Reset two-step")).click()
    page.screenshot(path=f"{SHOTS}/superadmin-two-step-reset-en.png", full_page=True)
    page.locator("main form").get_by_role("button", name="Reset two-step sign-in").click()

    expect(page).to_have_url(re.compile(rf"/platform/organizations/{acme.pk}/$"))
    expect(row).not_to_contain_text("Two-step")
    assert not run_outside_browser_loop(lambda: two_factor.is_enabled(user=boss.user))


def _with_two_step(user) -> None:
    secret = two_factor.two_factor_enrolment_start(user=user).secret
    two_factor.two_factor_enrolment_confirm(user=user, code=pyotp.TOTP(secret).now())
