"""Egress (whatsapp_hub/egress.py): a request to an address a tenant chose (a WAHA base URL) reaches a public
address, or one the operator allows, and nothing else; it follows no redirect; nothing upstream reaches a user.

Nothing here leaves 127.0.0.1: names resolve from a table (`dns`), and a guard under urllib3 refuses a connection
to any other address and records every attempt (`connections`). Loopback is refused like any private address: the
`fake_waha` fixture allows its own `127.0.0.1:<port>` by an EGRESS_ALLOWED_HOSTS entry, a test allows what else it
needs, and `webhook_receiver` / `scripted_server` stand for the internal services the hub must not reach.
"""

import base64
import gzip
import ipaddress
import logging
import struct
import zlib

import pytest
import requests
import urllib3.util.connection
from django.core.exceptions import ImproperlyConfigured

from messaging.models import Media, Message, WhatsAppNumber
from messaging.providers import CloudConfig, CloudProvider, ProviderError, WahaConfig, WahaProvider
from messaging.services.media import media_fetch_inbound
from messaging.services.retries import MAX_ATTEMPTS
from tests.assertions import assert_error
from tests.fakes import FakeWahaServer, Response
from tests.fakes.dns import PUBLIC, Resolver
from tests.fakes.pytest_plugin import allow_egress
from tests.fakes.server import json_response
from tests.fakes.waha import QR_PNG
from tests.messaging.factories import MessageFactory
from tests.messaging.inbox_support import open_conversation, send, waha_number
from whatsapp_hub import egress

NUMBERS = "/api/v1/numbers"
# What a hostile or internal upstream answers: it must never reach a user.
SECRET = "redis.internal:6379 -NOAUTH Authentication required (10.0.0.7)"

NOT_ALLOWED = "This address is not allowed: the hub only connects to public addresses (or those its operator allows)."
PUBLIC_ONLY = "The host must resolve to public addresses only; a private service needs the hub's operator to allow it."
SPELLING = "Write the host as a name, a dotted IPv4 address or a bracketed IPv6 address."
SCHEME = "Only http and https URLs are allowed."
USERINFO = "A URL here cannot carry a user name or password."
QUERY = "A base URL cannot have a query string or a fragment."
NO_HOST = "Enter a valid URL: it has no host."
REDIRECT = "The server answered with a redirect; the hub does not follow redirects."
NOT_PNG = "WAHA's QR code is not a PNG image."


@pytest.fixture(autouse=True)
def dns(fake_dns) -> Resolver:
    return fake_dns


@pytest.fixture(autouse=True)
def connections(monkeypatch) -> list[str]:
    """Every address a connection was opened to; anything but loopback is refused before a packet leaves."""
    attempted: list[str] = []
    real = urllib3.util.connection.create_connection

    def create_connection(address, *args, **kwargs):
        attempted.append(address[0])
        if address[0] not in ("127.0.0.1", "::1"):
            raise ConnectionRefusedError(f"test guard: no connection to {address[0]}")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", create_connection)
    return attempted


@pytest.fixture
def upstream(settings, scripted_server):
    """The scripted server allowed by an entry: a WAHA server of the tenant's choosing that answers anything."""
    allow_egress(settings, scripted_server)
    return scripted_server


def number_url(number: WhatsAppNumber, action: str = "") -> str:
    return f"{NUMBERS}/{number.pk}/{action}" if action else f"{NUMBERS}/{number.pk}"


def create_waha_number(admin_client, base_url: str, **fields):
    body = {"display_name": "Web", "provider": "waha", "waha_base_url": base_url, **fields}
    return admin_client.post(NUMBERS, body, format="json")


def png_chunk(tag: bytes, data: bytes, *, crc: int | None = None) -> bytes:
    checksum = crc if crc is not None else zlib.crc32(tag + data)
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", checksum)


# --- the connect-time guard -----------------------------------------------------------------------------

LOOPBACK_SPELLINGS = [
    "127.0.0.1",
    "localhost",
    "localhost.",
    "127.1",
    "0x7f.1",
    "2130706433",
    "0x7f000001",
    "017700000001",
    "0.0.0.0",
    "[::1]",
    "[::]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "rebind.example",
]


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_no_spelling_of_loopback_reaches_a_service_on_it(host, webhook_receiver, connections):
    with pytest.raises(egress.AddressNotAllowed) as refused:
        egress.request("GET", f"http://{host}:{webhook_receiver.port}/")

    assert str(refused.value) == NOT_ALLOWED
    assert (webhook_receiver.requests, connections) == ([], [])


INTERNAL_ADDRESSES = [
    "169.254.169.254",  # cloud metadata (link-local)
    "fd00:ec2::254",  # AWS metadata over IPv6 (unique local)
    "::ffff:169.254.169.254",  # IPv4-mapped
    "10.0.0.5",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",  # shared address space (CG-NAT)
    "fe80::1",
    "fc00::1",
    "fec0::1",  # IPv6 site-local
    "224.0.0.1",  # multicast
    "ff02::1",
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "::7f00:1",  # IPv4-compatible (reserved)
    "198.18.0.1",  # benchmarking
    "192.0.0.8",  # IETF protocol assignments
    "192.0.2.1",  # documentation
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
]


@pytest.mark.parametrize("written", ["as a name", "in the URL"])
@pytest.mark.parametrize("address", INTERNAL_ADDRESSES)
def test_a_non_public_address_is_refused_before_connecting(address, written, dns, connections):
    dns.names["internal.example"] = [address]
    host = "internal.example" if written == "as a name" else f"[{address}]" if ":" in address else address

    with pytest.raises(egress.AddressNotAllowed):
        egress.request("GET", f"http://{host}:8080/")

    assert connections == []


def test_the_connection_goes_to_the_address_checked_not_to_a_later_answer(dns, connections, webhook_receiver):
    dns.names["rebinding.example"] = [PUBLIC]
    dns.then["rebinding.example"] = ["127.0.0.1"]

    with pytest.raises(requests.ConnectionError):  # the guard refuses the public address
        egress.request("GET", f"http://rebinding.example:{webhook_receiver.port}/")

    assert (dns.lookups, connections, webhook_receiver.requests) == (["rebinding.example"], [PUBLIC], [])


def test_a_name_checked_at_save_time_is_checked_again_when_used(org, admin_client, dns, webhook_receiver):
    dns.names["rebinding.example"] = [PUBLIC]
    dns.then["rebinding.example"] = ["127.0.0.1"]
    created = create_waha_number(admin_client, f"http://rebinding.example:{webhook_receiver.port}")
    assert created.status_code == 201, created.json()
    number = WhatsAppNumber.objects.get(pk=created.json()["id"])

    response = admin_client.post(number_url(number, "session/start"))

    body = assert_error(response, 400)
    assert (body["code"], body["detail"]) == (
        "waha_url_not_allowed",
        "The number's WAHA URL points to an address the hub may not connect to: only public addresses, or those "
        "the hub's operator allows.",
    )
    assert webhook_receiver.requests == []


@pytest.mark.parametrize("location", ["internal service", "metadata"])
def test_a_redirect_is_not_followed_even_from_an_allowed_server(location, upstream, webhook_receiver, connections):
    target = {
        "internal service": f"http://127.0.0.1:{webhook_receiver.port}/",
        "metadata": "http://169.254.169.254/latest/meta-data/iam/",
    }[location]
    upstream.default = Response(302, b"", "text/plain", {"Location": target})

    with pytest.raises(egress.RedirectNotFollowed) as refused:
        egress.request("GET", f"{upstream.url}/api/sessions/default")

    assert str(refused.value) == REDIRECT
    assert (len(upstream.requests), webhook_receiver.requests, connections) == (1, [], ["127.0.0.1"])


def test_an_answer_over_the_size_cap_is_refused(upstream):
    upstream.default = Response(200, b"x" * (egress.DEFAULT_MAX_BYTES + 1), "application/json")

    with pytest.raises(egress.ResponseTooLarge):
        egress.request("GET", f"{upstream.url}/api/sessions")


def test_a_compressed_answer_is_capped_by_its_decompressed_size(upstream):
    bomb = gzip.compress(b"\0" * (egress.DEFAULT_MAX_BYTES + 1))
    upstream.default = Response(200, bomb, "application/json", {"Content-Encoding": "gzip"})

    with pytest.raises(egress.ResponseTooLarge):
        egress.request("GET", f"{upstream.url}/api/sessions")

    assert len(bomb) < egress.DEFAULT_MAX_BYTES // 100


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://127.0.0.1:6379/_INFO", "ftp://public.example/"])
def test_only_http_and_https_go_out(url, connections):
    with pytest.raises(egress.AddressNotAllowed) as refused:
        egress.request("GET", url)

    assert (str(refused.value), connections) == (SCHEME, [])


def test_proxy_variables_do_not_reroute_tenant_traffic(monkeypatch, upstream, webhook_receiver):
    monkeypatch.setenv("HTTP_PROXY", webhook_receiver.url)
    monkeypatch.setenv("NO_PROXY", "")

    response = egress.request("GET", f"{upstream.url}/api/sessions")

    assert (response.status_code, len(upstream.requests), webhook_receiver.requests) == (404, 1, [])


# --- save time: a 400 naming the field ------------------------------------------------------------------

REFUSED_BASE_URLS = [
    ("http://169.254.169.254/latest/meta-data/", PUBLIC_ONLY),
    ("http://169.254.169.254/latest/meta-data/?", QUERY),
    ("http://[fd00:ec2::254]/", PUBLIC_ONLY),
    ("http://metadata.google.internal/computeMetadata/v1/", PUBLIC_ONLY),
    ("http://127.0.0.1:6379/", PUBLIC_ONLY),
    ("http://localhost:3000", PUBLIC_ONLY),
    ("http://localhost.:3000", PUBLIC_ONLY),
    ("http://rebind.example:3000", PUBLIC_ONLY),
    ("http://[::1]:3000", PUBLIC_ONLY),
    ("http://[::ffff:127.0.0.1]:3000", PUBLIC_ONLY),
    ("http://0.0.0.0:3000", PUBLIC_ONLY),
    ("http://[::]:3000", PUBLIC_ONLY),
    ("http://127.1:3000", SPELLING),
    ("http://0x7f.1:3000", SPELLING),
    ("http://2130706433:3000", SPELLING),
    ("http://0x7f000001/", SPELLING),
    ("http://017700000001/", SPELLING),
    ("http://10.0.0.5:3000", PUBLIC_ONLY),
    ("http://100.64.0.1/", PUBLIC_ONLY),
    ("http://[fe80::1]/", PUBLIC_ONLY),
    ("http://mixed.example/", PUBLIC_ONLY),  # one public address is not enough: every one must be
    ("http://nowhere.invalid/", PUBLIC_ONLY),
    ("file:///etc/passwd", SCHEME),
    ("gopher://127.0.0.1:6379/_INFO", SCHEME),
    ("ftp://public.example/", SCHEME),
    ("http://admin:secret@public.example/", USERINFO),
    ("http://public.example@127.0.0.1/", USERINFO),
    ("http://public.example/waha?x=1", QUERY),
    ("http://public.example/waha#top", QUERY),
    ("http:///api", NO_HOST),
    ("http://public.example/api\r\nX-Api-Key: stolen", "Enter a valid URL."),
    ("http://public.example:99999/", "Enter a valid URL."),
]


@pytest.mark.parametrize(("base_url", "message"), REFUSED_BASE_URLS)
def test_a_base_url_outside_the_policy_is_a_400_naming_the_field(base_url, message, org, admin_client, connections):
    response = create_waha_number(admin_client, base_url)

    body = assert_error(response, 400)
    assert (body["detail"], body["errors"]) == (f"waha_base_url: {message}", {"waha_base_url": [message]})
    assert (WhatsAppNumber.objects.filter(organization=org).count(), connections) == (0, [])


def test_changing_a_base_url_to_an_internal_address_is_refused_and_changes_nothing(org, admin_client):
    number = waha_number(org, waha_base_url=f"http://{PUBLIC}:3000")

    response = admin_client.patch(number_url(number), {"waha_base_url": "http://169.254.169.254/"}, format="json")

    assert assert_error(response, 400)["errors"] == {"waha_base_url": [PUBLIC_ONLY]}
    number.refresh_from_db()
    assert number.waha_base_url == f"http://{PUBLIC}:3000"


@pytest.mark.parametrize("base_url", ["https://public.example/waha", f"http://{PUBLIC}:3000"])
def test_a_public_base_url_is_saved(base_url, org, admin_client, connections):
    response = create_waha_number(admin_client, base_url)

    assert response.status_code == 201, response.json()
    assert (response.json()["waha_base_url"], connections) == (base_url, [])


# --- the operator's allow-list --------------------------------------------------------------------------


def test_a_host_port_entry_lets_a_number_use_a_private_waha_and_nothing_else_on_that_host(
    org, admin_client, settings, webhook_receiver
):
    second = FakeWahaServer().start()
    try:
        allow_egress(settings, second)
        created = create_waha_number(admin_client, second.url, waha_api_key=second.api_key)
        number = WhatsAppNumber.objects.get(pk=created.json()["id"])

        started = admin_client.post(number_url(number, "session/start"))
        other_port = create_waha_number(admin_client, f"http://127.0.0.1:{webhook_receiver.port}")

        assert (created.status_code, started.status_code, started.json()["status"]) == (201, 200, "STARTING")
        assert second.session(number.waha_session).status == "SCAN_QR_CODE"
        assert assert_error(other_port, 400)["errors"] == {"waha_base_url": [PUBLIC_ONLY]}
        assert webhook_receiver.requests == []
    finally:
        second.stop()


def test_a_cidr_entry_allows_addresses_written_in_it_but_never_a_name(settings, webhook_receiver):
    settings.EGRESS_ALLOWED_HOSTS = ["127.0.0.0/8"]

    allowed = egress.request("GET", f"http://127.0.0.1:{webhook_receiver.port}/")
    with pytest.raises(egress.AddressNotAllowed):
        egress.request("GET", f"http://localhost:{webhook_receiver.port}/")

    assert (allowed.status_code, len(webhook_receiver.requests)) == (200, 1)


def test_the_origin_of_waha_url_is_allowed_and_nothing_else_on_its_host(
    settings, org, admin_client, webhook_receiver, scripted_server, connections
):
    settings.WAHA_URL = webhook_receiver.url

    allowed = egress.request("GET", f"{webhook_receiver.url}/api/sessions")
    with pytest.raises(egress.AddressNotAllowed):
        egress.request("GET", f"{scripted_server.url}/api/sessions")  # another port
    with pytest.raises(egress.AddressNotAllowed):
        egress.request("GET", f"https://127.0.0.1:{webhook_receiver.port}/api/sessions")  # another scheme
    saved = create_waha_number(admin_client, webhook_receiver.url)
    refused = create_waha_number(admin_client, scripted_server.url)

    assert (allowed.status_code, len(webhook_receiver.requests), scripted_server.requests) == (200, 1, [])
    assert (saved.status_code, assert_error(refused, 400)["errors"]) == (201, {"waha_base_url": [PUBLIC_ONLY]})
    assert connections == ["127.0.0.1"]


def test_a_base_url_on_the_hubs_waha_origin_is_the_hubs_server_however_spelled(settings, org, admin_client, fake_waha):
    response = create_waha_number(admin_client, f"HTTP://127.0.0.1:{fake_waha.port}/")

    assert response.status_code == 201, response.json()
    assert response.json()["waha_session"].startswith(f"org{org.pk}-")  # shared server: the organization's prefix


def test_the_allow_list_is_parsed_into_host_port_pairs_and_networks():
    parsed = egress.allow_list(("waha.internal:3000", "[FD00::5]:3000", "10.0.0.0/24", "10.1.2.3", "WAHA:80"))

    assert parsed == egress.AllowList(
        hosts=frozenset({("waha.internal", 3000), ("fd00::5", 3000), ("waha", 80)}),
        networks=(ipaddress.ip_network("10.0.0.0/24"), ipaddress.ip_network("10.1.2.3/32")),
    )


@pytest.mark.parametrize("entry", ["waha", "waha:http", "waha:0", "waha:70000", "10.0.0.0/33", "[waha]:3000", ":3000"])
def test_a_malformed_allow_list_entry_stops_start_up(entry):
    with pytest.raises(ImproperlyConfigured) as refused:
        egress.allow_list((entry,))

    assert repr(entry) in str(refused.value)


# --- nothing upstream reaches a user --------------------------------------------------------------------


def _valid_png_with(after_iend: bytes = b"", *, crc: int | None = None) -> bytes:
    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header, crc=crc)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
        + after_iend
    )


GIF_BASE64 = base64.b64encode(b"GIF89a").decode()
NOT_A_PNG = {
    "html sent as image/png": Response(200, f"<html>{SECRET}</html>".encode(), "image/png"),
    "json with other bytes": json_response(200, {"mimetype": "image/png", "data": GIF_BASE64}),
    "json without data": json_response(200, {"value": SECRET}),
    "bytes after IEND": Response(200, _valid_png_with(SECRET.encode()), "image/png"),
    "a wrong checksum": Response(200, _valid_png_with(crc=0), "image/png"),
    "nothing": Response(200, b"", "image/png"),
}


@pytest.mark.parametrize("answer", NOT_A_PNG.values(), ids=NOT_A_PNG.keys())
def test_the_qr_endpoint_returns_only_a_checked_png(answer, org, admin_client, upstream):
    number = waha_number(org, waha_base_url=upstream.url, waha_session="web")
    upstream.answer("/api/web/auth/qr", answer)

    response = admin_client.get(number_url(number, "qr"), HTTP_ACCEPT="image/png")

    body = assert_error(response, 502)
    assert (body["detail"], body["code"]) == (NOT_PNG, "waha_error")
    assert b"NOAUTH" not in response.content


def test_a_png_in_wahas_json_form_is_served_as_the_image(org, admin_client, upstream):
    number = waha_number(org, waha_base_url=upstream.url, waha_session="web")
    qr = {"mimetype": "image/png", "data": base64.b64encode(QR_PNG).decode()}
    upstream.answer("/api/web/auth/qr", json_response(200, qr))

    response = admin_client.get(number_url(number, "qr"), HTTP_ACCEPT="image/png")

    assert (response.status_code, response["Content-Type"], response.content) == (200, "image/png", QR_PNG)


@pytest.mark.parametrize(
    ("status", "api_status", "detail"),
    [
        (400, 400, "WAHA refused the request (HTTP 400)."),
        (422, 409, "WAHA refused the request (HTTP 422)."),
        (500, 502, "WAHA failed (HTTP 500)."),
    ],
)
def test_an_error_answer_from_waha_is_logged_not_shown(status, api_status, detail, org, admin_client, upstream, caplog):
    number = waha_number(org, waha_base_url=upstream.url, waha_session="web")
    upstream.default = json_response(
        status, {"statusCode": status, "message": [SECRET], "error": "Bad", "status": "<b>", "expected": ["x y"]}
    )

    with caplog.at_level(logging.WARNING, logger="messaging.providers.waha"):
        response = admin_client.get(number_url(number, "session"))

    assert assert_error(response, api_status)["detail"] == detail
    assert b"NOAUTH" not in response.content and b"<b>" not in response.content
    assert "NOAUTH" in caplog.text


def test_the_session_view_shows_only_the_status_and_the_linked_phone(org, admin_client, upstream):
    number = waha_number(org, waha_base_url=upstream.url, waha_session="web")
    me = {"id": "79111111111@c.us", "pushName": "Shop", "token": SECRET}
    session = {"name": "web", "status": "WORKING", "me": me, "engine": {"secret": SECRET}}
    upstream.answer("/api/sessions/web", json_response(200, session))

    response = admin_client.get(number_url(number, "session"))

    assert response.json() == {"name": "web", "status": "WORKING", "me": {"id": "79111111111@c.us", "pushName": "Shop"}}


def test_a_pairing_code_not_of_whatsapps_form_is_not_passed_on(org, admin_client, upstream):
    number = waha_number(org, waha_base_url=upstream.url, waha_session="web")
    upstream.answer("/api/web/auth/request-code", json_response(201, {"code": SECRET}))

    response = admin_client.post(number_url(number, "pairing-code"), {"phone_number": "+966501234567"}, format="json")

    assert assert_error(response, 502)["detail"] == "WAHA answered without a pairing code."


def _waha_conversation(org, base_url: str):
    return open_conversation(org, number=waha_number(org, waha_base_url=base_url))


def test_a_failed_send_stores_the_hubs_words_not_wahas_answer(org, agent_client, upstream):
    conversation = _waha_conversation(org, upstream.url)
    upstream.answer("/api/sendText", json_response(400, {"statusCode": 400, "message": [SECRET], "error": "Bad"}))

    response = send(agent_client, conversation, {"type": "text", "text": "Hello"})

    message = Message.objects.get(pk=response.json()["id"])
    assert (message.status, message.error_title) == ("failed", "Bad request: WAHA refused the request as invalid.")


def test_a_send_to_a_dead_server_stores_no_host_or_exception_text(org, agent_client, settings, webhook_receiver):
    webhook_receiver.stop()  # an allowed address where nothing listens any more: the connection is refused
    allow_egress(settings, webhook_receiver)
    conversation = _waha_conversation(org, webhook_receiver.url)

    response = send(agent_client, conversation, {"type": "text", "text": "Hello"})

    message = Message.objects.get(pk=response.json()["id"])
    assert (message.status, message.attempts) == ("failed", MAX_ATTEMPTS)
    assert message.error_title == "Connection error: The server could not be reached."


def test_a_send_to_a_refused_address_says_so_without_naming_it(org, agent_client, connections):
    conversation = _waha_conversation(org, "http://169.254.169.254")  # stored before the policy existed

    response = send(agent_client, conversation, {"type": "text", "text": "Hello"})

    message = Message.objects.get(pk=response.json()["id"])
    assert (message.status, message.attempts, connections) == ("failed", 1, [])
    assert message.error_title == f"Refused by the hub: {NOT_ALLOWED}"


def _waha_media(org, base_url: str) -> Media:
    conversation = _waha_conversation(org, base_url)
    payload = {"media": {"url": f"{base_url}/api/files/web/true_1@c.us_AAA.jpeg", "mimetype": "image/jpeg"}}
    message = MessageFactory(organization=org, conversation=conversation, type="image", payload=payload)
    return Media.objects.create(organization=org, message=message, mime_type="image/jpeg")


def test_a_failed_media_download_stores_the_hubs_words(org, upstream):
    media = _waha_media(org, upstream.url)
    upstream.default = Response(500, f"<pre>{SECRET}</pre>".encode(), "text/html")

    media_fetch_inbound(organization_id=org.pk, media_id=media.pk, attempt=MAX_ATTEMPTS)

    media.refresh_from_db()
    assert (media.status, media.error) == ("failed", "HTTP 500: WAHA answered HTTP 500.")


def test_an_interrupted_media_download_stores_no_exception_text(org, settings, webhook_receiver):
    webhook_receiver.stop()
    allow_egress(settings, webhook_receiver)
    media = _waha_media(org, webhook_receiver.url)

    media_fetch_inbound(organization_id=org.pk, media_id=media.pk, attempt=MAX_ATTEMPTS)

    media.refresh_from_db()
    assert (media.status, media.error) == ("failed", "Connection error: The server could not be reached.")


# --- Meta's media URLs: trusted like the Graph API, but the token goes to Meta only ------------------------


def test_the_access_token_never_goes_to_a_media_url_off_metas_hosts(fake_meta, scripted_server):
    stored = fake_meta.add_media(b"\xff\xd8\xff jpeg", "image/jpeg")
    fake_meta.media_url_base = scripted_server.url
    cloud = CloudProvider(CloudConfig(phone_number_id="1", access_token="tenant-token"))

    with pytest.raises(ProviderError) as refused:
        cloud.fetch_media(stored.id)

    assert (refused.value.title, refused.value.detail, refused.value.retryable) == (
        "Unexpected response",
        "The media URL is not on Meta's media host.",
        False,
    )
    assert scripted_server.requests == []


@pytest.mark.parametrize("link", ["http://127.0.0.1:6379/x.jpg", "http://metadata.google.internal/x.jpg"])
def test_a_media_link_waha_would_download_from_an_internal_address_is_refused(link, upstream):
    provider = WahaProvider(WahaConfig(session="default", base_url=upstream.url))

    with pytest.raises(ProviderError) as refused:
        provider.send("+14155550123", {"type": "image", "image": {"link": link}})

    assert (refused.value.title, refused.value.retryable) == ("Media link not allowed", False)
    assert upstream.requests == []


def test_a_public_media_link_is_handed_to_waha(upstream):
    upstream.answer("/api/sendImage", json_response(201, {"id": {"_serialized": "true_14155550123@c.us_ABC"}}))
    provider = WahaProvider(WahaConfig(session="default", base_url=upstream.url))

    provider.send("+14155550123", {"type": "image", "image": {"link": "https://public.example/x.jpg?v=2"}})

    [sent] = upstream.requests
    assert sent.json["file"]["url"] == "https://public.example/x.jpg?v=2"
