"""The media library in a real browser: reached from the inbox, images as thumbnails and other files as icons, the
organization's storage use, filters, and "Copy link" putting a signed link on the clipboard that serves the file to
a browser with no session; in Arabic too."""

import struct
import zlib
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Role
from tests.factories import MembershipFactory
from tests.messaging.factories import ContactFactory, ConversationFactory, MediaFactory, MessageFactory

SHOTS = "/tmp/shots"


def _png(width: int, height: int) -> bytes:
    """A real (green) PNG, for the browser to draw as a thumbnail."""
    rows = b"".join(b"\x00" + bytes([37, 211, 102]) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@pytest.fixture
def agent(org):
    return MembershipFactory(organization=org, role=Role.AGENT)


@pytest.fixture
def files(org):
    conversation = ConversationFactory(organization=org, contact=ContactFactory(organization=org, name="Sheena Nelson"))
    now = timezone.now()

    def carried(type: str, direction: str, **fields):
        message = MessageFactory(organization=org, conversation=conversation, type=type, direction=direction, text="")
        return MediaFactory(organization=org, message=message, **fields)

    photo_bytes = _png(64, 48)
    photo = carried(
        "image",
        "inbound",
        file=ContentFile(photo_bytes, name="photo.png"),
        filename="receipt-photo.png",
        size=len(photo_bytes),
        created_at=now - timedelta(hours=2),
    )
    pdf = carried(
        "document",
        "outbound",
        mime_type="application/pdf",
        filename="invoice-2026-11.pdf",
        size=48_213,
        created_at=now - timedelta(hours=1),
    )
    return {"photo": photo, "pdf": pdf, "conversation": conversation}


@pytest.mark.browser_context_args(permissions=["clipboard-read", "clipboard-write"])
def test_the_media_library_shows_filters_and_shares_files(page: Page, login_session, agent, files, new_context):
    login_session(page, agent.user)
    page.goto("/inbox/")
    page.locator("#media-link").click()

    expect(page.get_by_role("heading", name="Media")).to_be_visible()
    cards = page.locator(".media-card")
    expect(cards).to_have_count(2)
    expect(page.get_by_test_id("storage-usage")).to_contain_text("2 files stored")
    thumbnail = cards.filter(has_text="receipt-photo.png").locator("img")
    expect(thumbnail).to_be_visible()
    page.wait_for_function("() => [...document.querySelectorAll('.media-card img')].every(i => i.naturalWidth > 0)")
    expect(cards.filter(has_text="invoice-2026-11.pdf").locator("svg.media-icon")).to_be_visible()
    page.screenshot(path=f"{SHOTS}/medialib-media-en.png", full_page=True)

    page.locator("#id_type").select_option("document")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("invoice-2026-11.pdf")
    assert "type=document" in page.url

    cards.first.get_by_role("button", name="Copy link").click()
    expect(page.locator("#media-status")).to_contain_text("Link copied")
    link = page.evaluate("() => navigator.clipboard.readText()")
    assert "/shared/media/" in link and "media/20" not in link

    stranger = new_context().request.get(link)  # no session
    assert (stranger.status, stranger.headers["content-type"]) == (200, "application/pdf")
    assert stranger.headers["x-content-type-options"] == "nosniff"


def test_the_media_library_in_arabic(arabic_page: Page, login_session, agent, files):
    login_session(arabic_page, agent.user)
    arabic_page.goto("/inbox/media/")

    expect(arabic_page.locator("html")).to_have_attribute("dir", "rtl")
    expect(arabic_page.get_by_role("heading", name="الوسائط")).to_be_visible()
    expect(arabic_page.locator(".media-card")).to_have_count(2)
    arabic_page.screenshot(path=f"{SHOTS}/medialib-media-ar.png", full_page=True)


def test_an_empty_library_says_what_will_appear(page: Page, login_session, agent):
    login_session(page, agent.user)
    page.goto("/inbox/media/")

    expect(page.get_by_role("heading", name="No files yet")).to_be_visible()
    expect(page.get_by_test_id("storage-usage")).to_contain_text("0 files stored")
