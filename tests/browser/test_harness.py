"""The browser-test harness on the pages that exist before the web app's: the Django admin and the API docs."""

import http.client
import re
import subprocess

import requests
from playwright.sync_api import expect

from messaging.models import Message
from tests.factories import PASSWORD, UserFactory
from tests.messaging.factories import ContactFactory

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_a_staff_user_signs_in_to_the_admin_through_its_form(page, daphne_server):
    UserFactory(email="root@platform.example", is_staff=True, is_superuser=True)

    page.goto("/admin/login/")
    page.locator("#id_username").fill("root@platform.example")
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(f"{daphne_server.url}/admin/")
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()


def test_login_session_signs_a_user_in_without_the_form(page, login_session):
    staff = UserFactory(is_staff=True, is_superuser=True)
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login/\?next=/admin/$"))

    login_session(page, staff)
    page.goto("/admin/")

    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()


def _websocket_handshake(port: int, path: str, *, origin: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
        "Origin": origin,
    }
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, response.reason
    finally:
        connection.close()


def test_the_live_server_is_daphne_and_hands_websockets_to_channels(daphne_server):
    plain = requests.get(f"{daphne_server.url}/ws/inbox/", timeout=10)
    assert (plain.status_code, plain.headers["Server"]) == (404, "daphne")

    # The same path as a websocket handshake reaches the Channels application, whose origin check refuses a page
    # of another site (a server without websockets would answer the 404 above).
    handshake = _websocket_handshake(daphne_server.port, "/ws/inbox/", origin="http://evil.example")

    assert handshake == (403, "Access denied")


def test_the_api_docs_load_and_the_browser_never_reaches_the_internet(page):
    failed = []
    page.on("requestfailed", lambda request: failed.append((request.url, request.failure)))

    response = page.goto("/api/v1/docs/")

    assert response.status == 200
    expect(page).to_have_title("WhatsApp Hub API")
    # The docs load Swagger UI from a CDN: its host name does not resolve in the browser tests.
    assert failed
    assert {(url.split("/")[2], failure) for url, failure in failed} == {
        ("cdn.jsdelivr.net", "net::ERR_NAME_NOT_RESOLVED")
    }


def _arabic_fonts() -> set[str]:
    """The font families fontconfig has for Arabic."""
    listing = subprocess.run(["fc-list", ":lang=ar", "family"], capture_output=True, text=True, check=True).stdout
    return {family for line in listing.splitlines() for family in line.split(",")}


def test_an_arabic_page_is_drawn_with_arabic_and_emoji_glyphs(arabic_page, login_session, screenshot):
    arabic_fonts = _arabic_fonts()
    assert arabic_fonts, "fontconfig has no Arabic font: apt-get install fonts-noto-core"
    ContactFactory(name="ليلى🌙")  # no space or Latin letter, which any font may draw
    login_session(arabic_page, UserFactory(is_staff=True, is_superuser=True))

    with arabic_page.expect_request("**/admin/messaging/contact/") as request:
        arabic_page.goto("/admin/messaging/contact/")
    expect(arabic_page.locator("th.field-__str__ a")).to_have_text("ليلى🌙")
    path = screenshot(arabic_page, "admin-contacts-arabic")

    assert request.value.headers["accept-language"] == "ar"
    assert path.read_bytes().startswith(PNG_SIGNATURE)
    # The fonts Chromium drew the name with (and how many glyphs each): without an Arabic font, boxes.
    cdp = arabic_page.context.new_cdp_session(arabic_page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    document = cdp.send("DOM.getDocument")["root"]["nodeId"]
    name = cdp.send("DOM.querySelector", {"nodeId": document, "selector": "th.field-__str__ a"})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": name})["fonts"]
    drawn = {font["familyName"]: font["glyphCount"] for font in fonts}
    assert drawn.pop("Noto Color Emoji") == 1
    assert drawn
    assert set(drawn) <= arabic_fonts


def test_emails_the_server_sends_are_read_from_its_outbox(daphne_server, demo_org, read_outbox):
    response = requests.post(
        f"{daphne_server.url}/api/v1/auth/password-reset-request", json={"email": "admin@demo.local"}, timeout=10
    )

    assert response.status_code == 200
    [mail] = read_outbox()
    assert (mail["To"], mail["Subject"]) == ("admin@demo.local", "Reset your WhatsApp Hub password")
    assert re.search(
        rf"^{re.escape(daphne_server.url)}/reset-password\?token=\S+$",
        mail.get_body(("plain",)).get_content(),
        re.MULTILINE,
    )


def test_demo_org_is_the_seeded_demo_with_a_conversation_that_went_on(daphne_server, demo_org):
    messages = Message.objects.for_org(demo_org.organization).filter(conversation=demo_org.conversation)

    assert [(m.direction, m.text, m.status) for m in messages.order_by("id")] == [
        ("inbound", "مرحبا، هل الطلب جاهز؟", "received"),
        ("outbound", "نعم، يُشحن اليوم 📦", "read"),
        ("inbound", "شكراً جزيلاً 🙏", "received"),
    ]
    for membership, password in [(demo_org.admin, demo_org.admin_password), (demo_org.agent, demo_org.agent_password)]:
        login = requests.post(
            f"{daphne_server.url}/api/v1/auth/login", json={"email": membership.user.email, "password": password}
        )
        assert login.status_code == 200, login.text
