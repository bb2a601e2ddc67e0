"""Custom pages and inbox embeds in a real browser: a custom page in the rail (Markdown shown escaped, an external
site in a sandboxed frame), and an embed shown inside a page of another origin (a second local HTTP server), refused
inside a page of an origin it does not list, live (a customer's message, a signed Meta webhook, shows without a
reload) and ended at once when an admin revokes it; English and Arabic."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from messaging.models import Conversation, InboxEmbed, Provider
from messaging.services import embeds as embed_services
from tests.accounts.custom_pages_support import markdown_page, url_page
from tests.fakes.meta import DEFAULT_PHONE_NUMBER_ID, FakeMetaServer
from tests.messaging.embeds_support import embed
from tests.messaging.factories import ContactFactory, ConversationFactory, MessageFactory, WhatsAppNumberFactory


class _Host:
    """A tiny site on its own port (another origin than the hub's): / is a page that frames `frame_url`."""

    def __init__(self) -> None:
        self.frame_url = ""
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = (
                    "<!doctype html><html><head><title>CRM</title></head><body><h1>Acme CRM</h1>"
                    f'<iframe id="hub" src="{host.frame_url}" width="900" height="500"></iframe></body></html>'
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def crm() -> Iterator[_Host]:
    host = _Host()
    yield host
    host.stop()


@pytest.fixture
def scoped(org):
    """A number with Layla's conversation (in the embed's scope) and another number's (outside it)."""
    support = WhatsAppNumberFactory(organization=org, provider=Provider.SANDBOX, display_name="Support")
    sales = WhatsAppNumberFactory(organization=org, display_name="Sales")
    layla = ContactFactory(organization=org, name="Layla Haddad", wa_id="966501234567", phone="+966501234567")
    inside = ConversationFactory(organization=org, number=support, contact=layla, last_inbound_at=timezone.now())
    MessageFactory(organization=org, conversation=inside, text="هل الطلب جاهز؟")
    outside = ConversationFactory(organization=org, number=sales, contact=ContactFactory(organization=org, name="Omar"))
    return support, inside, outside


def test_an_embed_shows_in_a_page_of_an_allowed_origin_and_replies(
    page: Page, daphne_server, crm: _Host, org, scoped, screenshot
):
    support, _, _ = scoped
    row = embed(org, numbers=[support], mode=InboxEmbed.Mode.REPLY, allowed_origins=[crm.origin], name="CRM panel")
    crm.frame_url = f"{daphne_server.url}/embed/{embed_services.embed_token(row)}/"

    page.goto(crm.origin + "/")
    frame = page.frame_locator("#hub")
    expect(frame.get_by_role("heading", name="CRM panel")).to_be_visible()
    expect(frame.locator(".embed-conversation")).to_have_count(1)
    frame.get_by_text("Layla Haddad").click()
    expect(frame.locator(".embed-message-inbound")).to_contain_text("هل الطلب جاهز؟")
    frame.get_by_placeholder("Type a reply").fill("Yes, it ships today")
    frame.get_by_role("button", name="Send").click()
    expect(frame.locator(".embed-message-outbound")).to_contain_text("Yes, it ships today")
    assert "Omar" not in frame.locator("body").inner_text()
    screenshot(page, "embeds-embed-en")
    page.screenshot(path="/tmp/shots/embeds-embed-en.png")

    # Revoked: the embed's next request is refused. Its open socket closing is the live test's (below): revoked
    # from the test's thread, the close cannot reach the socket, and whether the socket or the page goes first races.
    embed_services.embed_revoke(embed=row, actor=None)
    page.goto(crm.origin + "/")
    expect(frame.get_by_role("heading", name="CRM panel")).to_have_count(0)


def test_an_embed_is_not_shown_in_a_page_of_an_origin_it_does_not_list(
    page: Page, daphne_server, crm: _Host, org, scoped
):
    support, _, _ = scoped
    row = embed(org, numbers=[support], allowed_origins=["https://crm.example.com"], name="Elsewhere")
    crm.frame_url = f"{daphne_server.url}/embed/{embed_services.embed_token(row)}/"
    refused = []
    page.on("console", lambda message: refused.append(message.text) if "frame-ancestors" in message.text else None)

    page.goto(crm.origin + "/")
    page.wait_for_timeout(500)

    frame = page.frame(url=lambda url: "/embed/" in url)
    assert frame is None or "Elsewhere" not in frame.content()
    assert refused != []


def test_a_read_only_embed_in_arabic(page: Page, daphne_server, crm: _Host, org, scoped):
    support, inside, _ = scoped
    row = embed(org, numbers=[support], allowed_origins=[crm.origin], name="لوحة CRM")
    crm.frame_url = f"{daphne_server.url}/embed/{embed_services.embed_token(row)}/conversations/{inside.pk}/?lang=ar"

    page.goto(crm.origin + "/")
    frame = page.frame_locator("#hub")
    expect(frame.locator("html")).to_have_attribute("dir", "rtl")
    expect(frame.get_by_text("للقراءة فقط: تُرسل الردود من WhatsApp Hub.")).to_be_visible()
    expect(frame.locator("textarea")).to_have_count(0)
    page.screenshot(path="/tmp/shots/embeds-embed-ar.png")


CUSTOMER = "16505551234"


def _customer_writes(fake_meta: FakeMetaServer, text: str) -> None:
    fake_meta.send_inbound(CUSTOMER, text=text, name="Sheena Nelson")
    [response] = fake_meta.deliver_webhooks()
    assert response.status_code == 200


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_an_open_embed_shows_a_new_message_live_and_ends_when_revoked(
    page: Page, daphne_server, crm: _Host, org, admin_membership, fake_meta, login_session, screenshot, lang
):
    number = WhatsAppNumberFactory(
        organization=org,
        display_name="Support line",
        phone_number_id=DEFAULT_PHONE_NUMBER_ID,
        app_secret=fake_meta.app_secret,
    )
    fake_meta.webhook_url = f"{daphne_server.url}/webhooks/meta/{org.pk}/phone/{DEFAULT_PHONE_NUMBER_ID}/"
    fake_meta.auto_statuses = ()
    _customer_writes(fake_meta, "Hello, is my order on its way?")
    conversation = Conversation.objects.for_org(org).get()
    row = embed(org, numbers=[number], allowed_origins=[crm.origin], name="CRM panel")
    address = (
        f"{daphne_server.url}/embed/{embed_services.embed_token(row)}/conversations/{conversation.pk}/?lang={lang}"
    )
    crm.frame_url = address

    page.goto(crm.origin + "/")
    frame = page.frame_locator("#hub")
    expect(frame.locator("body")).to_have_attribute("data-live", "open")
    expect(frame.locator(".embed-message-inbound")).to_have_count(1)

    # A customer's message reaches the hub (a signed webhook, ingested): in the open thread and the list, no reload.
    _customer_writes(fake_meta, "Size M in blue, please 🙏")
    expect(frame.locator(".embed-message-inbound").last).to_contain_text("Size M in blue, please 🙏")
    expect(frame.locator(".embed-conversation").first).to_contain_text("Size M in blue, please 🙏")
    screenshot(page, f"embeds-live-{lang}")
    page.screenshot(path=f"/tmp/shots/embeds-live-{lang}.png")
    narrow = page.context.new_page()  # the embed alone at 768 px (a narrow side panel)
    narrow.set_viewport_size({"width": 768, "height": 700})
    narrow.goto(address)
    expect(narrow.locator("body")).to_have_attribute("data-live", "open")
    narrow.screenshot(path=f"/tmp/shots/embeds-live-768-{lang}.png")

    # An admin revokes it in the hub's settings: the open embed says it ended, at once.
    admin = page.context.new_page()
    login_session(admin, admin_membership.user)
    admin.goto(f"{daphne_server.url}/settings/embeds/")
    admin.locator(f"form[action$='/settings/embeds/{row.pk}/revoke/'] button").click()
    expect(admin.locator(".badge-danger")).to_be_visible()
    admin.close()
    expect(frame.locator("#embed-ended")).to_be_visible()
    expect(frame.locator("body")).to_have_attribute("data-live", "ended")
    expect(narrow.locator("#embed-ended")).to_be_visible()
    screenshot(page, f"embeds-ended-{lang}")
    page.screenshot(path=f"/tmp/shots/embeds-ended-{lang}.png")


def test_a_custom_page_in_the_rail(page: Page, login_session, admin_membership, org, screenshot):
    markdown_page(
        org,
        title="Team rules",
        icon="shield",
        content="# Rules\n\n- Answer within **5 minutes**\n- <script>alert(1)</script>\n\n[Docs](https://example.com)",
    )
    login_session(page, admin_membership.user)
    page.goto("/dashboard/")
    page.locator(".rail").get_by_role("link", name="Team rules").click()
    expect(page.get_by_role("heading", name="Rules", exact=True)).to_be_visible()
    expect(page.locator(".markdown-body")).to_contain_text("<script>alert(1)</script>")
    expect(page.locator(".rail .rail-item.is-current")).to_contain_text("Team rules")
    page.screenshot(path="/tmp/shots/embeds-custom-page-en.png")
    page.goto("/settings/custom-pages/")
    page.screenshot(path="/tmp/shots/embeds-custom-pages-settings-en.png")
    page.goto("/settings/custom-pages/new/")
    page.get_by_label("An external website, shown inside the hub").check()
    expect(page.get_by_label("Address")).to_be_visible()
    expect(page.get_by_label("Text", exact=True)).to_be_hidden()
    page.screenshot(path="/tmp/shots/embeds-custom-page-form-en.png", full_page=True)


def test_custom_pages_in_arabic(arabic_page: Page, login_session, admin_membership, org, daphne_server):
    external = url_page(org, title="مكتب المساعدة", icon="globe", url=f"{daphne_server.url}/static/img/icons.svg")
    markdown_page(org, title="قواعد الفريق", content="# القواعد\n\nأجب خلال **5 دقائق**.")
    login_session(arabic_page, admin_membership.user)
    arabic_page.goto(f"/pages/{external.pk}/")
    expect(arabic_page.locator("html")).to_have_attribute("dir", "rtl")
    expect(arabic_page.locator("iframe.custom-page-iframe")).to_have_attribute(
        "sandbox", "allow-scripts allow-forms allow-popups"
    )
    arabic_page.screenshot(path="/tmp/shots/embeds-custom-page-url-ar.png")
    arabic_page.locator(".rail").get_by_role("link", name="قواعد الفريق").click()
    expect(arabic_page.get_by_role("heading", name="القواعد", exact=True)).to_be_visible()
    arabic_page.screenshot(path="/tmp/shots/embeds-custom-page-ar.png")
    arabic_page.goto("/settings/custom-pages/")
    arabic_page.screenshot(path="/tmp/shots/embeds-custom-pages-settings-ar.png")
    arabic_page.goto("/settings/embeds/new/")
    arabic_page.screenshot(path="/tmp/shots/embeds-embed-form-ar.png", full_page=True)
