"""Canned responses in a real browser: the composer's "/" menu (search, keyboard, the placeholders filled in for the
conversation and the agent, an attachment sent with the text as its caption), and the settings page, in English and
Arabic."""

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Role
from messaging.models import CannedResponse
from tests.browser import test_inbox
from tests.browser.test_inbox import CUSTOMER, customer_writes, open_inbox, row
from tests.factories import MembershipFactory, UserFactory
from tests.fakes.meta import FakeMetaServer
from tests.messaging.factories import CannedResponseFactory, MediaFactory

cloud_number = test_inbox.cloud_number  # the fixture: a Cloud API number of the fake Graph API
PRICE = "Hi {{contact.first_name}}, our prices start at 49 SAR. {{agent.name}}"


@pytest.fixture
def agent(org):
    return MembershipFactory(organization=org, role=Role.AGENT, user=UserFactory(name="Omar Haddad"))


@pytest.fixture
def library(org):
    CannedResponseFactory(organization=org, shortcut="surprise", title="A gift", text="A surprise for you!")
    CannedResponseFactory(organization=org, shortcut="price", title="Prices", text=PRICE)
    CannedResponseFactory(organization=org, shortcut="hours", title="Opening hours", text="We open at 9.")


@pytest.fixture
def thread(page: Page, login_session, agent, cloud_number, fake_meta: FakeMetaServer, library):
    """Sheena's conversation open in the agent's inbox, her 24-hour window open."""
    customer_writes(fake_meta, "How much is it?")
    open_inbox(page, login_session, agent)
    row(page, "Sheena Nelson").click()
    expect(page.locator("#messages .msg-in")).to_have_count(1)
    return page


def test_slash_pri_offers_price_and_enter_inserts_it_filled_in_then_it_sends(
    thread: Page, fake_meta: FakeMetaServer, screenshot
):
    composer, menu = thread.locator("#composer-text"), thread.locator("#canned-menu")
    composer.press_sequentially("/pri")

    expect(menu).to_be_visible()
    expect(composer).to_have_attribute("aria-expanded", "true")
    options = menu.get_by_role("option")
    expect(options).to_have_count(2)  # price first (its shortcut starts with it), then the one mentioning it
    expect(options.first).to_contain_text("/price")
    expect(options.first).to_contain_text("Hi Sheena, our prices start at 49 SAR. Omar Haddad")
    expect(options.first).to_have_attribute("aria-selected", "true")
    expect(composer).to_have_attribute("aria-activedescendant", options.first.get_attribute("id"))
    screenshot(thread, "canned-menu")

    composer.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    composer.press("ArrowUp")
    composer.press("Enter")

    expect(menu).to_be_hidden()
    expect(composer).to_have_value("Hi Sheena, our prices start at 49 SAR. Omar Haddad")
    expect(composer).to_have_attribute("aria-expanded", "false")
    composer.press("Enter")

    reply = thread.locator("#messages .msg-out").last
    expect(reply).to_contain_text("Hi Sheena, our prices start at 49 SAR.")
    expect(reply.locator(".tick-sent")).to_be_visible()
    [sent] = fake_meta.sends(to=CUSTOMER)
    assert sent["text"]["body"] == "Hi Sheena, our prices start at 49 SAR. Omar Haddad"


def test_the_menu_opens_after_a_space_tab_inserts_and_escape_closes(thread: Page):
    composer, menu = thread.locator("#composer-text"), thread.locator("#canned-menu")

    composer.press_sequentially("Thanks! /hou")
    expect(menu.get_by_role("option")).to_have_count(1)
    composer.press("Tab")
    expect(composer).to_have_value("Thanks! We open at 9.")

    composer.press_sequentially(" and/x")  # not after a space: no menu
    expect(menu).to_be_hidden()
    composer.press_sequentially(" /zzz")
    expect(menu).to_contain_text("No canned response matches /zzz.")
    composer.press("Escape")
    expect(menu).to_be_hidden()
    expect(composer).to_be_focused()
    expect(composer).to_have_value("Thanks! We open at 9. and/x /zzz")


def test_a_response_with_a_photo_sends_it_with_the_text_as_caption(thread: Page, org, fake_meta: FakeMetaServer):
    photo = MediaFactory(organization=org, mime_type="image/png", filename="price-list.png")
    CannedResponseFactory(
        organization=org, shortcut="menu", title="Menu", text="Our menu, {{contact.name}}", attachment=photo
    )
    composer = thread.locator("#composer-text")

    composer.press_sequentially("/menu")
    expect(thread.locator("#canned-menu").get_by_role("option").first).to_contain_text("/menu")
    composer.press("Enter")

    chip = thread.locator("#composer-attachment")
    expect(chip).to_contain_text("price-list.png")
    expect(composer).to_have_value("Our menu, Sheena Nelson")
    composer.press("Enter")

    expect(chip).to_be_hidden()
    reply = thread.locator("#messages .msg-out").last
    expect(reply).to_contain_text("Our menu, Sheena Nelson")
    expect(reply.locator(".tick-sent")).to_be_visible()
    [sent] = fake_meta.sends(to=CUSTOMER, type="image")
    assert sent["image"]["caption"] == "Our menu, Sheena Nelson"
    photo.refresh_from_db()
    assert photo.message_id is None  # still the response's, for the next time


def test_an_agent_without_canned_responses_is_told_so(page: Page, login_session, agent, cloud_number, fake_meta):
    customer_writes(fake_meta, "Hello")
    open_inbox(page, login_session, agent)
    row(page, "Sheena Nelson").click()

    page.locator("#composer-text").press_sequentially("/")

    expect(page.locator("#canned-menu")).to_have_text("No canned responses yet.")


def test_an_admin_creates_one_on_the_settings_page(page: Page, login_session, org, screenshot):
    admin = MembershipFactory(organization=org, role=Role.ADMIN)
    CannedResponseFactory(organization=org, shortcut="hours", title="Opening hours", text="We open at 9.")
    login_session(page, admin.user)
    page.goto("/settings/canned-responses/")
    screenshot(page, "canned-settings")

    page.get_by_role("link", name="New canned response").click()
    page.get_by_label("Shortcut").fill("price")
    page.get_by_label("Title").fill("Prices")
    page.get_by_label("Text", exact=True).fill("Hi ")
    page.get_by_role("button", name="{{contact.first_name}}").click()
    page.get_by_label("Text", exact=True).press_sequentially(", from 49 SAR.")
    screenshot(page, "canned-settings-form")
    page.get_by_role("button", name="Create").click()

    expect(page.locator(".flash")).to_have_text("Canned response /price created.")
    expect(page.locator(".canned-table")).to_contain_text("/price")
    page.set_viewport_size({"width": 768, "height": 900})
    screenshot(page, "canned-settings-narrow")
    assert CannedResponse.objects.get(shortcut="price").text == "Hi {{contact.first_name}}, from 49 SAR."


def test_the_settings_page_and_the_menu_in_arabic(
    arabic_page: Page, login_session, org, cloud_number, fake_meta, screenshot
):
    admin = MembershipFactory(organization=org, role=Role.ADMIN, user=UserFactory(name="عمر"))
    CannedResponseFactory(
        organization=org,
        shortcut="price",
        title="الأسعار",
        text="مرحبا {{contact.first_name}}، أسعارنا تبدأ من 49 ريالاً.",
    )
    CannedResponseFactory(organization=org, shortcut="hours", title="ساعات العمل", text="نعمل يومياً من 9 إلى 21.")
    customer_writes(fake_meta, "كم السعر؟", name="ليلى أحمد")
    login_session(arabic_page, admin.user)

    arabic_page.goto("/settings/canned-responses/")
    expect(arabic_page.locator("html")).to_have_attribute("dir", "rtl")
    expect(arabic_page.get_by_role("heading", level=2).first).to_have_text("الردود الجاهزة")
    screenshot(arabic_page, "canned-settings-ar")
    arabic_page.goto(f"/settings/canned-responses/{CannedResponse.objects.get(shortcut='price').pk}/")
    screenshot(arabic_page, "canned-settings-form-ar")

    arabic_page.goto("/inbox/")
    arabic_page.locator(".conv-row", has_text="ليلى").click()
    composer = arabic_page.locator("#composer-text")
    composer.press_sequentially("/")
    expect(arabic_page.locator("#canned-menu").get_by_role("option")).to_have_count(2)
    screenshot(arabic_page, "canned-menu-ar")
    composer.press_sequentially("pri")
    composer.press("Enter")
    expect(composer).to_have_value(re.compile("^مرحبا ليلى، أسعارنا"))


def test_a_file_attached_in_the_composer_goes_with_the_text_as_caption(thread: Page, fake_meta: FakeMetaServer):
    thread.locator("#composer-text").fill("The receipt")

    thread.locator("#attach-input").set_input_files(
        {"name": "receipt.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 receipt"}
    )

    reply = thread.locator("#messages .msg-out").last
    expect(reply).to_contain_text("receipt.pdf")
    expect(reply.locator(".tick-sent")).to_be_visible()
    expect(thread.locator("#composer-text")).to_have_value("")
    [sent] = fake_meta.sends(to=CUSTOMER, type="document")
    assert (sent["document"]["caption"], sent["document"]["filename"]) == ("The receipt", "receipt.pdf")


def test_a_filled_in_text_stays_with_its_conversation(thread: Page, fake_meta: FakeMetaServer):
    fake_meta.send_inbound("16505559876", text="Are you open today?", name="Karim Aziz")
    fake_meta.deliver_webhooks()
    composer = thread.locator("#composer-text")
    composer.press_sequentially("/price")
    composer.press("Enter")
    expect(composer).to_have_value("Hi Sheena, our prices start at 49 SAR. Omar Haddad")

    row(thread, "Karim Aziz").click()
    expect(composer).to_have_value("")  # Sheena's text never goes to Karim
    composer.press_sequentially("/price")
    composer.press("Enter")
    expect(composer).to_have_value("Hi Karim, our prices start at 49 SAR. Omar Haddad")

    row(thread, "Sheena Nelson").click()
    expect(composer).to_have_value("Hi Sheena, our prices start at 49 SAR. Omar Haddad")
