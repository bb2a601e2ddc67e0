"""The templates pages in a real browser against the live server: a marketer creates a template on the demo's
sandbox number (the live preview, a mistake shown next to its component, the sandbox's approval), Meta's review of
a Cloud number's template turning its badge live, the sync button's progress, and the pages in Arabic."""

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Role
from templates.models import MessageTemplate
from tests.browser.harness import DemoOrg
from tests.factories import MembershipFactory
from tests.fakes.meta import DEFAULT_PHONE_NUMBER_ID, DEFAULT_WABA_ID, FakeMetaServer
from tests.messaging.factories import WhatsAppNumberFactory


@pytest.fixture
def marketer(demo_org: DemoOrg):
    return MembershipFactory(organization=demo_org.organization, role=Role.MARKETING)


@pytest.fixture
def cloud_number(demo_org: DemoOrg, fake_meta: FakeMetaServer, daphne_server):
    """A Cloud API number of the fake Graph API, whose webhooks the fake posts (signed) to the live server."""
    org = demo_org.organization
    number = WhatsAppNumberFactory(
        organization=org,
        display_name="Support line",
        phone_number_id=DEFAULT_PHONE_NUMBER_ID,
        waba_id=DEFAULT_WABA_ID,
        app_secret=fake_meta.app_secret,
    )
    fake_meta.webhook_url = f"{daphne_server.url}/webhooks/meta/{org.pk}/phone/{DEFAULT_PHONE_NUMBER_ID}/"
    return number


def badge(page: Page, name: str):
    return page.locator("tr", has=page.get_by_role("link", name=name, exact=True)).locator("[data-status]")


def test_a_marketer_creates_a_template_that_the_sandbox_approves(page: Page, login_session, marketer, screenshot):
    login_session(page, marketer.user)
    page.goto("/templates/")
    expect(page.locator("tbody tr")).to_have_count(4)  # the demo's templates
    expect(badge(page, "order_update")).to_have_text("Approved")

    page.get_by_role("link", name="New template").click()
    page.get_by_label("Name", exact=True).fill("winter_sale")
    page.get_by_label("Category").select_option("MARKETING")
    page.get_by_label("Header type").select_option("TEXT")
    page.get_by_label("Header text").fill("Winter sale, {{1}}!")
    page.get_by_label("Example for {{1}}").first.fill("Omar")
    page.get_by_label("Message", exact=True).fill("{{1}} off everything this week.")
    page.get_by_role("button", name="Add a button").click()
    page.get_by_label("Button text").fill("Stop promotions")
    preview = page.locator(".preview-card")
    expect(preview.locator("[data-preview-header]")).to_have_text("Winter sale, Omar!")
    expect(preview.locator("[data-preview-buttons] li")).to_have_text(["Stop promotions"])

    page.get_by_role("button", name="Submit for review").click()

    body_errors = page.locator('[data-errors-for="BODY"] li')
    expect(body_errors).to_have_text(
        [
            "A placeholder cannot start the text: put some words before it.",
            "Give an example for each variable ({{1}}): Meta reviews the template with them (example.body_text).",
        ]
    )
    expect(page.locator('[data-errors-for="__all__"]')).to_have_text(
        "Some parts need fixing: see the messages next to them."
    )
    screenshot(page, "templates-new-en", full_page=True)
    assert not MessageTemplate.objects.filter(name="winter_sale").exists()

    page.get_by_label("Message", exact=True).fill("Take {{1}} off everything this week, {{2}}.")
    page.locator('[data-examples-for="body"]').get_by_label("Example for {{1}}").fill("20%")
    page.locator('[data-examples-for="body"]').get_by_label("Example for {{2}}").fill("Omar")
    expect(preview.locator("[data-preview-body]")).to_have_text("Take 20% off everything this week, Omar.")
    page.get_by_role("button", name="Submit for review").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("winter_sale")
    expect(page.locator("[data-status]")).to_have_text("Approved")  # the sandbox reviewed it as it was stored
    template = MessageTemplate.objects.get(name="winter_sale")
    assert (template.status, template.category, template.created_by_id) == ("APPROVED", "MARKETING", marketer.user_id)
    assert template.components[0] == {
        "type": "HEADER",
        "format": "TEXT",
        "text": "Winter sale, {{1}}!",
        "example": {"header_text": ["Omar"]},
    }


def test_meta_s_review_turns_the_badge_live_and_the_sync_button_shows_its_progress(
    page: Page, login_session, demo_org: DemoOrg, cloud_number, fake_meta: FakeMetaServer, screenshot
):
    at_meta = fake_meta.add_template("back_in_stock", status="PENDING", category="MARKETING")
    MessageTemplate.objects.create(
        organization=demo_org.organization,
        waba_id=DEFAULT_WABA_ID,
        meta_id=at_meta["id"],
        name="back_in_stock",
        language="en_US",
        category="MARKETING",
        components=at_meta["components"],
    )
    login_session(page, demo_org.admin.user)
    page.goto("/templates/")
    expect(badge(page, "back_in_stock")).to_have_text("In review")

    fake_meta.review_template(at_meta["id"], "APPROVED")
    [response] = fake_meta.deliver_webhooks()
    assert response.status_code == 200

    expect(badge(page, "back_in_stock")).to_have_text("Approved")  # no reload
    expect(badge(page, "back_in_stock")).to_have_class("badge badge-accent")

    fake_meta.add_template("loyalty_points", category="UTILITY")  # made in WhatsApp Manager
    page.get_by_role("button", name="Sync from Meta").click()

    expect(page.locator("[data-sync-status]")).to_have_text("Synced from Meta: 1 new, 1 updated, 0 marked deleted.")
    expect(badge(page, "loyalty_points")).to_have_text("Approved")
    screenshot(page, "templates-list-en")


def test_the_templates_in_arabic_are_right_to_left(arabic_page: Page, login_session, demo_org: DemoOrg, screenshot):
    page = arabic_page
    login_session(page, demo_org.admin.user)

    page.goto("/templates/")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    rail, table = page.locator("nav.rail").bounding_box(), page.locator("table").bounding_box()
    assert rail["x"] > table["x"]  # the navigation on the right, the start side
    expect(page.locator("tbody tr")).to_have_count(4)
    screenshot(page, "templates-list-ar")

    page.locator("a[href='/templates/new/']").first.click()
    page.locator("#id_body_text").fill("مرحباً {{1}}، طلبك جاهز.")
    expect(page.locator("[data-preview-body]")).to_have_text("مرحباً {{1}}، طلبك جاهز.")
    screenshot(page, "templates-new-ar", full_page=True)

    page.goto("/templates/")
    page.get_by_role("link", name="welcome_back").click()
    expect(page).to_have_url(re.compile(r"/templates/\d+/$"))
    screenshot(page, "template-detail-ar", full_page=True)


def test_the_pages_fit_a_narrow_window(page: Page, login_session, demo_org: DemoOrg, screenshot):
    page.set_viewport_size({"width": 768, "height": 900})
    login_session(page, demo_org.admin.user)

    page.goto("/templates/")
    table = page.locator(".templates-table")
    assert table.bounding_box()["width"] <= 768
    screenshot(page, "templates-list-narrow")

    page.goto("/templates/new/")
    form, preview = (
        page.locator("form[data-template-form]").bounding_box(),
        page.locator(".preview-card").bounding_box(),
    )
    assert preview["y"] > form["y"]  # one column: the preview under the form
    screenshot(page, "templates-new-narrow")
