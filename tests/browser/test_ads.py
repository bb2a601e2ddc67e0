"""The Ads tab of the CRM area in a browser: the table of what each ad brought and the chart of conversations started
per day (vendored Chart.js under the Content-Security-Policy), a bad date refused next to the picker, an ad's page;
mirrored in Arabic."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Role
from tests.browser.harness import run_outside_browser_loop
from tests.crm import support
from tests.crm.ads_support import message, reply
from tests.factories import MembershipFactory, UserFactory
from tests.messaging.factories import ConversationFactory


@pytest.fixture
def marketer(org):
    return MembershipFactory(organization=org, role=Role.MARKETING, user=UserFactory(name="Lina Haddad"))


def _ads(org, person) -> None:
    """Two ads customers wrote from yesterday and today; people replied; one deal won."""
    now = timezone.now()
    for days_ago, source_id, customers in ((1, "summer", 3), (0, "summer", 2), (0, "winter", 1)):
        for _ in range(customers):
            conversation = ConversationFactory(organization=org)
            at = now - timedelta(days=days_ago, minutes=30)
            message(conversation, at, ad=source_id)
            reply(conversation, at + timedelta(minutes=4), by=person.user)
    conversation = ConversationFactory(organization=org)
    message(conversation, now - timedelta(minutes=20), ad="summer")
    support.deal(org, conversation=conversation, value="250", status="won")


def _chart_is_drawn(page: Page) -> bool:
    return page.locator("#ads-chart").evaluate(
        """canvas => canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data.some(v => v !== 0)"""
    )


def test_the_ads_tab_shows_each_ad_s_figures_and_draws_the_chart(page: Page, login_session, marketer, org, screenshot):
    run_outside_browser_loop(_ads, org, marketer)
    errors = []
    page.on("console", lambda entry: errors.append(entry.text) if entry.type == "error" else None)
    login_session(page, marketer.user)

    page.goto("/deals/")
    page.get_by_role("link", name="Ads", exact=True).click()

    expect(page.get_by_role("heading", name="Click-to-WhatsApp ads")).to_be_visible()
    rows = page.locator(".crm-ads-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first.get_by_role("link")).to_have_text("Ad summer")
    expect(rows.first.locator("td.num")).to_have_text(["6", "6", "6", "5", "4 min 0 s", "1", "1", "250.00 USD"])
    page.wait_for_function("() => window.Chart && Object.keys(window.Chart.instances).length === 1")
    assert page.evaluate("() => Object.values(window.Chart.instances)[0].data.datasets.length") == 2
    assert _chart_is_drawn(page)
    assert errors == []  # no script or style refused by the Content-Security-Policy
    screenshot(page, "ads-en")
    page.locator(".crm-ads-table").scroll_into_view_if_needed()
    screenshot(page, "ads-table-en")

    page.get_by_label("From").fill("2026-03-05")
    page.get_by_label("To").fill("2026-03-01")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#range-errors")).to_contain_text("start_date is after end_date.")

    page.goto("/deals/ads/")
    page.get_by_role("link", name="Ad winter").click()
    expect(page.get_by_role("heading", name="Ad winter")).to_be_visible()
    expect(page.locator(".stat").first).to_contain_text("1")
    page.wait_for_function("() => window.Chart && Object.keys(window.Chart.instances).length === 1")
    page.locator(".stats").scroll_into_view_if_needed()
    screenshot(page, "ad-en")


def test_the_ads_tab_in_arabic_is_right_to_left(arabic_page: Page, login_session, marketer, org, screenshot):
    run_outside_browser_loop(_ads, org, marketer)
    login_session(arabic_page, marketer.user)

    arabic_page.goto("/deals/ads/")

    expect(arabic_page.locator("html")).to_have_attribute("dir", "rtl")
    expect(arabic_page.locator(".crm-ads-table tbody tr")).to_have_count(2)
    arabic_page.wait_for_function("() => window.Chart && Object.keys(window.Chart.instances).length === 1")
    assert arabic_page.evaluate("() => Object.values(window.Chart.instances)[0].options.scales.x.reverse") is True
    screenshot(arabic_page, "ads-ar")
    arabic_page.locator(".crm-ads-table").scroll_into_view_if_needed()
    screenshot(arabic_page, "ads-table-ar")
    arabic_page.locator(".crm-ads-table tbody a").first.click()
    arabic_page.wait_for_function("() => window.Chart && Object.keys(window.Chart.instances).length === 1")
    arabic_page.locator(".stats").scroll_into_view_if_needed()
    screenshot(arabic_page, "ad-ar")


def test_an_empty_range_says_what_the_tab_is_for(page: Page, login_session, marketer, screenshot):
    login_session(page, marketer.user)
    page.goto("/deals/ads/")
    expect(page.get_by_role("heading", name="No ads in these days")).to_be_visible()
    screenshot(page, "ads-empty")
