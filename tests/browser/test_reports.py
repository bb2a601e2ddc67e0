"""The reports page in a browser: the chart of the range (the dashboard's module, under the Content-Security-Policy),
the agent, team and number reports and their CSV exports, in English and in Arabic (right to left)."""

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from accounts.models import Role
from messaging.services.conversations import conversation_update
from tests.browser.harness import DemoOrg, run_outside_browser_loop

SHOTS = Path("/tmp/shots")


def _close_laylas_conversation(demo_org: DemoOrg) -> None:
    def close():
        conversation_update(
            conversation=demo_org.conversation,
            actor=demo_org.admin.user,
            role=Role.ADMIN,
            assigned_to_id=demo_org.agent.user_id,
            status="closed",
        )

    run_outside_browser_loop(close)


def test_the_reports_page_shows_the_agents_figures(page: Page, login_session, demo_org: DemoOrg, screenshot):
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    _close_laylas_conversation(demo_org)
    login_session(page, demo_org.admin.user)

    page.goto("/reports/")

    expect(page.get_by_role("heading", name="Reports", exact=True)).to_be_visible()
    page.wait_for_function("() => window.Chart && Object.keys(window.Chart.instances).length === 1")
    agents = page.locator('table[data-report="agents"]')
    row = agents.locator("tbody tr", has_text=demo_org.agent.user.name)
    expect(row.locator("td").nth(1)).to_have_text("1")  # messages sent
    expect(row.locator("td").nth(4)).to_have_text("1")  # resolved
    with page.expect_download() as download:
        page.locator('section[aria-labelledby="report-agents"] a', has_text="Export CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("id,name,conversations_handled,messages_sent")
    assert demo_org.agent.user.name in text
    assert errors == []
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "reports-en.png"), full_page=True)
    screenshot(page, "reports-en")


def test_the_reports_page_in_arabic(arabic_page: Page, login_session, demo_org: DemoOrg, screenshot):
    errors = []
    arabic_page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    login_session(arabic_page, demo_org.admin.user)

    arabic_page.goto(f"/reports/?number={demo_org.number.pk}")

    expect(arabic_page.locator("html")).to_have_attribute("dir", "rtl")
    expect(arabic_page.get_by_role("heading", name="التقارير", exact=True)).to_be_visible()
    expect(arabic_page.locator("#report-agents")).to_have_text("الموظفون")
    arabic_page.wait_for_function("() => window.Chart && Object.keys(window.Chart.instances).length === 1")
    assert arabic_page.evaluate("() => Object.values(window.Chart.instances)[0].options.scales.x.reverse") is True
    expect(arabic_page.locator("#id_number")).to_have_value(str(demo_org.number.pk))
    agents = arabic_page.locator('table[data-report="agents"]')
    expect(agents.locator("tbody tr", has_text=demo_org.agent.user.name)).to_have_count(1)
    head, table = arabic_page.locator(".report-head h2").first.bounding_box(), agents.bounding_box()
    assert head["x"] + head["width"] > table["x"] + table["width"] - 40  # the title starts on the right
    assert errors == []
    SHOTS.mkdir(exist_ok=True)
    arabic_page.screenshot(path=str(SHOTS / "reports-ar.png"), full_page=True)
    screenshot(arabic_page, "reports-ar")


def _set_business_hours(demo_org: DemoOrg) -> None:
    def set_hours():
        organization = demo_org.organization
        organization.settings = {**organization.settings, "business_hours": {"mon": ["09:00", "17:00"]}}
        organization.save(update_fields=["settings"])

    run_outside_browser_loop(set_hours)


def test_within_business_hours_only_is_offered_once_hours_are_set(page: Page, login_session, demo_org: DemoOrg):
    login_session(page, demo_org.admin.user)
    page.goto("/reports/")
    expect(page.get_by_label("Within business hours only")).to_have_count(0)

    _set_business_hours(demo_org)
    page.reload()
    page.get_by_label("Within business hours only").check()
    page.get_by_role("button", name="Show").click()

    expect(page).to_have_url(re.compile(r"[?&]business_hours=true"))
    expect(page.get_by_label("Within business hours only")).to_be_checked()
    expect(page.get_by_text("Within business hours: only the questions asked")).to_be_visible()
    export = page.locator('section[aria-labelledby="report-agents"] a', has_text="Export CSV")
    expect(export).to_have_attribute("href", re.compile(r"business_hours=true"))
    with page.expect_download() as download:
        export.click()
    assert Path(download.value.path()).read_text(encoding="utf-8-sig").startswith("id,name,conversations_handled")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "hours-reports-en.png"), full_page=True)


def test_within_business_hours_in_arabic(arabic_page: Page, login_session, demo_org: DemoOrg):
    _set_business_hours(demo_org)
    login_session(arabic_page, demo_org.admin.user)

    arabic_page.goto("/reports/?business_hours=true")

    expect(arabic_page.get_by_label("ضمن ساعات العمل فقط")).to_be_checked()
    expect(arabic_page.get_by_text("ضمن ساعات العمل: لا تُحتسب في الأوقات")).to_be_visible()
    SHOTS.mkdir(exist_ok=True)
    arabic_page.screenshot(path=str(SHOTS / "hours-reports-ar.png"))
