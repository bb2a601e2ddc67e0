"""The campaigns pages in a browser: a marketer creates and starts a small campaign on a Cloud number (the fake Graph
API) and watches its counters move as the status webhooks arrive (sent, then delivered, then read, pushed over the
live socket); the pages in Arabic (right to left) and at a narrow width; cancel waits for its confirmation."""

import re
from dataclasses import dataclass

from playwright.sync_api import Page, expect

from accounts.models import Membership, Role
from campaigns import services
from campaigns.models import Campaign
from messaging.models import Contact, MessagingLimitTier, WhatsAppNumber
from templates.models import MessageTemplate
from tests.browser.harness import DemoOrg, run_outside_browser_loop
from tests.fakes.meta import DEFAULT_PHONE_NUMBER_ID, DEFAULT_WABA_ID, FakeMetaServer
from tests.messaging.factories import ContactFactory, WhatsAppNumberFactory

TAG = "Spring launch"
COMPONENTS = [
    {"type": "HEADER", "format": "TEXT", "text": "Spring offer"},
    {
        "type": "BODY",
        "text": "Hello {{1}}, your {{2}} discount is ready. Show this message at the till.",
        "example": {"body_text": [["Layla", "20%"]]},
    },
    {"type": "FOOTER", "text": "Reply STOP to opt out"},
    {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Shop now"}]},
]
CUSTOMERS = [("Layla Haddad", "966501110001"), ("James Carter", "447700900124"), ("", "966501110003")]


@dataclass(frozen=True)
class Setup:
    marketer: Membership
    number: WhatsAppNumber
    template: MessageTemplate
    contacts: list[Contact]


def _setup(demo_org: DemoOrg, fake_meta: FakeMetaServer) -> Setup:
    """A Cloud number of the fake's WhatsApp Business Account (its webhooks signed with the fake's secret), an approved
    template the fake knows too, three customers with the tag (one without a name: the fallback)."""
    org = demo_org.organization
    number = WhatsAppNumberFactory(
        organization=org,
        display_name="Riyadh store",
        phone_number="+966112345678",
        phone_number_id=DEFAULT_PHONE_NUMBER_ID,
        waba_id=DEFAULT_WABA_ID,
        app_secret=fake_meta.app_secret,
        messaging_limit_tier=MessagingLimitTier.TIER_10K,
    )
    fake_meta.add_template("spring_offer", components=COMPONENTS, waba_id=DEFAULT_WABA_ID)
    template = MessageTemplate.objects.create(
        organization=org,
        waba_id=DEFAULT_WABA_ID,
        meta_id="spring-offer-en",
        name="spring_offer",
        language="en_US",
        category=MessageTemplate.Category.MARKETING,
        status=MessageTemplate.Status.APPROVED,
        components=COMPONENTS,
    )
    contacts = [
        ContactFactory(organization=org, name=name, wa_id=wa_id, phone=f"+{wa_id}", tags=[TAG])
        for name, wa_id in CUSTOMERS
    ]
    marketer = Membership.objects.for_org(org).select_related("user").get(role=Role.MARKETING)
    return Setup(marketer=marketer, number=number, template=template, contacts=contacts)


def _counter(page: Page, name: str):
    return page.locator(f'.campaign-counters [data-counter="{name}"]')


def _statuses(fake_meta: FakeMetaServer, status: str, wamids: list[str]) -> None:
    """Meta's status webhooks for these messages, posted to the live server now."""
    for wamid in wamids:
        fake_meta.queue_status(wamid, status)
    fake_meta.deliver_webhooks()


def test_a_small_campaign_is_created_started_and_its_counters_move_live(
    page: Page, login_session, demo_org: DemoOrg, fake_meta: FakeMetaServer, daphne_server, screenshot
):
    setup = run_outside_browser_loop(_setup, demo_org, fake_meta)
    fake_meta.webhook_url = f"{daphne_server.url}/webhooks/meta/{demo_org.organization.pk}/"
    fake_meta.auto_statuses = ()  # the statuses arrive when the test posts them, stage by stage
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    login_session(page, setup.marketer.user)

    page.goto("/campaigns/")
    expect(page.get_by_role("heading", name="No campaigns yet")).to_be_visible()
    page.get_by_role("link", name="New campaign").first.click()

    page.get_by_label("Campaign name").fill("Spring launch offer")
    page.get_by_label("Send from").select_option(label=str(setup.number))
    expect(page.locator("#number-limit")).to_contain_text("10,000 customers")
    page.get_by_label("Search templates").fill("spring")
    page.locator(".template-option", has_text="spring_offer").click()
    rows = page.locator("[data-mapping-row]")
    expect(rows).to_have_count(3)  # {{1}}, {{2}}, and the quick reply's payload (optional)
    page.get_by_label("Value from").first.select_option("name")
    page.get_by_label("If the field is empty").first.fill("friend")
    rows.nth(1).get_by_label("Value", exact=True).fill("20%")

    preview = page.locator(".preview-card .wa-bubble")
    expect(preview.locator(".wa-header")).to_have_text("Spring offer")
    expect(preview.locator(".wa-body")).to_have_text(
        "Hello friend, your 20% discount is ready. Show this message at the till."
    )
    expect(preview.locator(".wa-buttons li")).to_have_text(["Shop now"])

    page.get_by_label("Tag", exact=True).select_option(TAG)
    figures = page.locator("[data-summary-figures] dd")
    expect(figures).to_have_text(["3", "3"])  # will get it, in the audience
    expect(page.locator("[data-summary-sample] li")).to_have_count(3)
    expect(page.locator("[data-summary-sample] li").first).to_contain_text("Hello Layla Haddad, your 20% discount")
    screenshot(page, "campaign-new-en", full_page=True)

    page.get_by_role("button", name="Start campaign").click()

    expect(page.get_by_text("Campaign started.")).to_be_visible()
    expect(page.locator("#campaign")).to_have_attribute("data-live", "open")
    expect(_counter(page, "sent")).to_have_text("3")
    expect(_counter(page, "delivered")).to_have_text("0")
    log_rows = page.locator("[data-log-rows] tr")
    expect(log_rows).to_have_count(3)
    expect(log_rows.locator(".badge")).to_have_text(["Sent", "Sent", "Sent"])
    expect(log_rows.first.locator(".ltr")).to_have_text("+966501110001")
    wamids = [sent.wamid for sent in fake_meta.sent.values() if sent.type == "template"]
    assert sorted(sent.wa_id for sent in fake_meta.sent.values()) == sorted(wa_id for _, wa_id in CUSTOMERS)

    _statuses(fake_meta, "delivered", wamids)

    expect(_counter(page, "delivered")).to_have_text("3")
    expect(log_rows.locator(".badge")).to_have_text(["Delivered", "Delivered", "Delivered"])

    _statuses(fake_meta, "read", wamids[:2])

    expect(_counter(page, "read")).to_have_text("2")
    bar = page.locator(".campaign-progress [data-progress-bar]")
    expect(bar.locator('[data-part="read"]')).to_have_attribute("width", "66.667")
    expect(bar).to_have_attribute("aria-valuenow", "100")
    expect(log_rows.locator(".badge")).to_have_text(["Read", "Read", "Delivered"])
    expect(page.locator("[data-preview] .wa-body")).to_have_text(
        "Hello friend, your 20% discount is ready. Show this message at the till."
    )
    assert page.url.endswith(f"/campaigns/{Campaign.objects.get().pk}/")
    assert errors == []  # no script refused by the Content-Security-Policy, no failed call

    page.reload()  # as stored, without the flash message: the page for the README

    expect(page.locator(".campaign-counters dd")).to_have_text(["3", "3", "3", "2", "0", "0", "0"])
    expect(log_rows.locator(".badge")).to_have_text(["Read", "Read", "Delivered"])
    screenshot(page, "campaign")

    page.get_by_role("link", name="Campaigns", exact=True).first.click()
    row = page.locator("tr[data-campaign]")
    expect(row.locator("[data-status]")).to_have_text("Completed")
    expect(row.locator('[data-counter="read"]')).to_have_text("2")
    screenshot(page, "campaigns-en")


def _running_campaign(setup: Setup) -> Campaign:
    """A draft, then numbers as if it were halfway through (the counters as the services keep them)."""
    campaign = services.campaign_create(
        organization=setup.number.organization,
        actor=setup.marketer.user,
        name="عرض الربيع",
        number_id=setup.number.pk,
        template_name="spring_offer",
        language="en_US",
        variable_mapping={
            "1": {"type": "contact_field", "value": "name", "fallback": "صديقنا"},
            "2": {"type": "static", "value": "20%"},
        },
        tag=TAG,
    )
    Campaign.objects.filter(pk=campaign.pk).update(
        status=Campaign.Status.RUNNING, total=120, sent=64, delivered=51, read=30, failed=3, skipped=5
    )
    campaign.refresh_from_db()
    return campaign


def test_in_arabic_the_pages_are_right_to_left(
    arabic_page: Page, login_session, demo_org: DemoOrg, fake_meta: FakeMetaServer, screenshot
):
    page = arabic_page
    setup = run_outside_browser_loop(_setup, demo_org, fake_meta)
    campaign = run_outside_browser_loop(_running_campaign, setup)
    login_session(page, demo_org.admin.user)

    page.goto("/campaigns/")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.get_by_role("heading", level=1)).to_contain_text("الحملات")
    rail, table = page.locator("nav.rail").bounding_box(), page.locator("table").bounding_box()
    assert rail["x"] > table["x"]  # the navigation on the start side, the right
    bar = page.locator("tr[data-campaign] .progress-bar").bounding_box()
    read = page.locator('tr[data-campaign] [data-part="read"]').bounding_box()
    assert abs((read["x"] + read["width"]) - (bar["x"] + bar["width"])) < 1  # the bar fills from the right
    screenshot(page, "campaigns-ar")

    page.goto(f"/campaigns/{campaign.pk}/")
    expect(page.locator(".campaign-counters dd")).to_have_text(["120", "64", "51", "30", "0", "3", "5"])
    expect(page.locator("[data-log-empty]")).to_be_visible()  # a draft made running by hand: no log rows
    expect(page.locator(".campaign-subtitle .ltr")).to_have_attribute("class", "ltr num")
    screenshot(page, "campaign-ar")

    page.goto("/campaigns/new/")
    page.locator("[data-number]").select_option(str(setup.number.pk))
    page.locator(".template-option", has_text="spring_offer").click()
    expect(page.locator("[data-mapping-row]")).to_have_count(3)
    expect(page.locator(".preview-card .wa-body")).to_contain_text("Hello Layla, your 20% discount")
    screenshot(page, "campaign-new-ar", full_page=True)


def test_at_a_narrow_width_the_pages_fit_in_one_column(
    page: Page, login_session, demo_org: DemoOrg, fake_meta: FakeMetaServer, screenshot
):
    setup = run_outside_browser_loop(_setup, demo_org, fake_meta)
    campaign = run_outside_browser_loop(_running_campaign, setup)
    login_session(page, demo_org.admin.user)
    page.set_viewport_size({"width": 768, "height": 1024})

    for path, name in [("/campaigns/", "campaigns-narrow"), (f"/campaigns/{campaign.pk}/", "campaign-narrow")]:
        page.goto(path)
        expect(page.locator("[data-status]").first).to_be_visible()
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 768
        screenshot(page, name)

    page.goto("/campaigns/new/")
    page.locator("[data-number]").select_option(str(setup.number.pk))
    page.locator(".template-option", has_text="spring_offer").click()
    expect(page.locator("[data-mapping-row]")).to_have_count(3)
    values, preview = page.locator(".section-values").bounding_box(), page.locator(".preview-card").bounding_box()
    assert preview["y"] > values["y"]  # one column: the preview under the values
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 768
    screenshot(page, "campaign-new-narrow", full_page=True)


def test_cancel_waits_for_its_confirmation(page: Page, login_session, demo_org: DemoOrg, fake_meta: FakeMetaServer):
    setup = run_outside_browser_loop(_setup, demo_org, fake_meta)
    campaign = run_outside_browser_loop(_running_campaign, setup)
    login_session(page, setup.marketer.user)
    page.goto(f"/campaigns/{campaign.pk}/")

    page.get_by_role("button", name="Cancel campaign").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_contain_text("Cancel this campaign?")
    dialog.get_by_role("button", name="Keep it").click()
    expect(dialog).to_be_hidden()
    assert Campaign.objects.get(pk=campaign.pk).status == "running"

    page.get_by_role("button", name="Cancel campaign").click()
    dialog.get_by_role("button", name="Cancel campaign").click()

    expect(page.get_by_text("Campaign cancelled")).to_be_visible()
    expect(page.locator(".campaign-head [data-status]")).to_have_text("Cancelled")
    expect(page.get_by_role("button", name="Pause")).to_be_hidden()
    assert re.search(r"/campaigns/\d+/$", page.url)
