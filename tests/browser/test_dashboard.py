"""The dashboard in a browser: the figures and the chart of sent and received per day (vendored Chart.js, under
the Content-Security-Policy), mirrored in Arabic."""

from playwright.sync_api import Page, expect

from tests.browser.harness import DemoOrg


def _chart_is_drawn(page: Page) -> bool:
    """Chart.js drew on the canvas (a blank canvas is all transparent)."""
    return page.locator("#messages-chart").evaluate(
        """canvas => canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data.some(v => v !== 0)"""
    )


def test_the_dashboard_shows_the_figures_and_draws_the_chart(page: Page, login_session, demo_org: DemoOrg, screenshot):
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    login_session(page, demo_org.admin.user)

    page.goto("/dashboard/")

    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
    expect(page.locator(".stat").first).to_contain_text("Open conversations")
    page.wait_for_function("() => window.Chart && Object.keys(window.Chart.instances).length === 1")
    assert _chart_is_drawn(page)
    assert errors == []  # no script or style refused by the Content-Security-Policy
    screenshot(page, "dashboard-en")


def test_the_dashboard_in_arabic_is_right_to_left(arabic_page: Page, login_session, demo_org: DemoOrg, screenshot):
    login_session(arabic_page, demo_org.admin.user)

    arabic_page.goto("/dashboard/")

    expect(arabic_page.locator("html")).to_have_attribute("dir", "rtl")
    arabic_page.wait_for_function("() => window.Chart && Object.keys(window.Chart.instances).length === 1")
    assert arabic_page.evaluate("() => Object.values(window.Chart.instances)[0].options.scales.x.reverse") is True
    rail, main = arabic_page.locator(".rail").bounding_box(), arabic_page.locator("#main").bounding_box()
    assert rail["x"] > main["x"]
    screenshot(arabic_page, "dashboard-ar")
