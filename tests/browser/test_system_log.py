"""Settings > Logs in a browser: an admin sees what the hub logged (in their language), filters it, and watches a new
entry arrive without a reload (the live socket); an agent is refused; the page in Arabic."""

from playwright.sync_api import Page, expect

from accounts import services
from messaging.services import system_log as messaging_log
from tests.browser.harness import DemoOrg, run_outside_browser_loop


def _failed_delivery(demo_org: DemoOrg) -> None:
    """A send Meta refused, logged as delivery logs it (the after-commit write, at once outside a transaction)."""
    run_outside_browser_loop(
        messaging_log.messages_failed,
        organization_id=demo_org.organization.pk,
        failed=[(1, 131026, "Message Undeliverable")],
    )


def test_an_admin_filters_the_log_and_sees_a_new_entry_arrive(page: Page, login_session, demo_org: DemoOrg, screenshot):
    login_session(page, demo_org.admin.user)
    page.goto("/settings/logs/")
    expect(page.get_by_role("heading", name="Nothing to report")).to_be_visible()
    expect(page.get_by_role("link", name="Logs")).to_have_attribute("aria-current", "page")

    _failed_delivery(demo_org)
    page.reload()
    rows = page.locator("#system-log tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("A message could not be delivered: Message Undeliverable")
    expect(rows.first).to_contain_text("Error")
    expect(page.locator("#system-log")).to_have_attribute("data-live", "open")

    # An integration adds an entry (POST logs): it shows at the top of the open page, without a reload.
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    answer = page.request.post(
        "/api/v1/logs",
        data={"level": "warning", "message": "Nightly CRM sync skipped 3 rows"},
        headers={"X-CSRFToken": csrf, "Referer": page.url},
    )
    assert answer.status == 201, answer.text()
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Nightly CRM sync skipped 3 rows")
    expect(rows.first).to_contain_text("API")
    screenshot(page, "system-log-en", full_page=True)

    page.get_by_label("Level").select_option("error")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Message Undeliverable")
    page.get_by_label("Category").select_option("api")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("heading", name="No entry matches")).to_be_visible()


def test_an_agent_may_not_read_the_log(page: Page, login_session, demo_org: DemoOrg):
    login_session(page, demo_org.agent.user)
    page.goto("/settings/logs/")
    expect(page.get_by_text("This page is for admins of")).to_be_visible()
    expect(page.locator("#system-log")).to_have_count(0)


def test_in_arabic_the_log_speaks_arabic_right_to_left(arabic_page: Page, login_session, demo_org: DemoOrg, screenshot):
    page = arabic_page
    _failed_delivery(demo_org)
    run_outside_browser_loop(
        services.system_log_add, organization=demo_org.organization, level="info", message="Sync done"
    )
    login_session(page, demo_org.admin.user)
    page.goto("/settings/logs/")

    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    rows = page.locator("#system-log tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("تعذّر توصيل رسالة: Message Undeliverable")
    expect(rows.nth(0)).to_contain_text("Sync done")  # an integration's words, as written
    screenshot(page, "system-log-ar", full_page=True)
    page.set_viewport_size({"width": 768, "height": 900})
    screenshot(page, "system-log-ar-narrow", full_page=True)
