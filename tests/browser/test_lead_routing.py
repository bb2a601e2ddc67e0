"""Lead routing in a browser: an admin adds a rule in Settings > Lead routing and sees who takes leads now; an agent
sets themselves away and back from the person's menu (and is skipped meanwhile); the page in Arabic."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Membership, Role
from crm.routing.models import LeadRoutingRule
from tests.crm.routing_support import rule, team
from tests.factories import MembershipFactory, OrganizationFactory

SHOTS = Path("/tmp/shots")


@pytest.fixture
def acme():
    """Acme with its admin (Dana) and two agents (Omar, Lina) in the Sales team."""
    org = OrganizationFactory(name="Acme")
    admin = MembershipFactory(organization=org, role=Role.ADMIN, user__name="Dana Admin")
    omar = MembershipFactory(organization=org, role=Role.AGENT, user__name="Omar Haddad")
    lina = MembershipFactory(organization=org, role=Role.AGENT, user__name="Lina Aziz")
    return org, admin, omar, lina, team(org, omar, lina, name="Sales")


def _shot(page: Page, screenshot, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / f"routing-{name}.png", full_page=True)
    screenshot(page, f"routing-{name}")


def test_an_admin_adds_a_rule_and_sees_who_takes_leads(page: Page, login_session, acme, screenshot):
    org, admin, omar, lina, sales = acme
    Membership.objects.filter(pk=lina.pk).update(is_away=True)
    login_session(page, admin.user)
    page.goto("/settings/")
    page.get_by_role("link", name="Lead routing").click()
    expect(page.get_by_role("heading", name="No rules yet")).to_be_visible()
    _shot(page, screenshot, "empty-en")

    page.get_by_label("WhatsApp number").select_option(label="Every number")
    page.get_by_label("Team").select_option(label="Sales")
    page.get_by_label("Open conversations per member").fill("0")
    page.get_by_role("button", name="Add rule").click()
    expect(page.locator(".field.has-error")).to_contain_text("Ensure this value is greater than or equal to 1.")
    page.get_by_label("Open conversations per member").fill("3")
    page.get_by_role("button", name="Add rule").click()

    expect(page.get_by_role("status").first).to_contain_text("Lead routing rule added.")
    card = page.locator("[data-rule]")
    expect(card).to_contain_text("Every number")
    expect(card).to_contain_text("at most 3 open conversations per member")
    expect(card.locator(f'[data-member="{lina.user_id}"]')).to_contain_text("Away")
    expect(card.locator(f'[data-member="{omar.user_id}"]')).not_to_contain_text("Away")
    _shot(page, screenshot, "rules-en")
    made = LeadRoutingRule.objects.get()
    assert (made.organization_id, made.number_id, made.team_id, made.max_open_per_member) == (org.pk, None, sales.pk, 3)

    card.get_by_role("link", name="Edit").click()
    page.get_by_label("Enabled").uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("[data-rule]")).to_contain_text("Off")
    made.refresh_from_db()
    assert made.enabled is False


def test_an_agent_sets_themselves_away_and_back_from_their_menu(page: Page, login_session, acme, screenshot):
    org, _, omar, _, sales = acme
    rule(org, team_=sales)
    login_session(page, omar.user)
    page.goto("/contacts/")
    menu = page.locator("details.rail-menu")
    menu.locator("summary").click()
    expect(menu.locator("[data-availability]")).to_contain_text("Available")
    menu.get_by_role("button", name="Set yourself away").click()

    expect(page.get_by_role("status").first).to_contain_text("You are away")
    expect(page).to_have_url(re.compile(r"/contacts/$"))
    omar.refresh_from_db()
    assert omar.is_away and omar.away_since is not None
    menu.locator("summary").click()
    expect(menu.locator("[data-availability]")).to_contain_text("Away")
    _shot(page, screenshot, "away-menu-en")
    menu.get_by_role("button", name="Set yourself available").click()

    expect(page.get_by_role("status").first).to_contain_text("You are available")
    omar.refresh_from_db()
    assert (omar.is_away, omar.away_since) == (False, None)


def test_the_page_and_the_menu_in_arabic(arabic_page: Page, login_session, acme, screenshot):
    org, admin, _, lina, sales = acme
    Membership.objects.filter(pk=lina.pk).update(is_away=True)
    rule(org, team_=sales, max_open_per_member=2)
    login_session(arabic_page, admin.user)
    arabic_page.goto("/settings/lead-routing/")

    expect(arabic_page.locator("html")).to_have_attribute("dir", "rtl")
    tab = arabic_page.get_by_role("navigation", name="الإعدادات").get_by_role("link", name="توجيه العملاء المحتملين")
    expect(tab).to_have_attribute("aria-current", "page")
    expect(arabic_page.locator("[data-rule]")).to_contain_text("كل الأرقام")
    _shot(arabic_page, screenshot, "rules-ar")
    arabic_page.locator("details.rail-menu summary").click()
    expect(arabic_page.locator("[data-availability]")).to_contain_text("متاح")
    _shot(arabic_page, screenshot, "menu-ar")
