"""Fixtures that start the fake external servers (Meta Graph API, WAHA, an OpenAI-compatible API) on 127.0.0.1.

`fake_meta` / `fake_waha`: a fresh server per test, with `settings.WHATSAPP_GRAPH_URL` (and `WHATSAPP_APP_ID`) /
`settings.WAHA_URL` pointing at it (through pytest-django's `settings` fixture, so the change is undone after the
test); `fake_waha` is also an entry of the egress allow-list (`allow_egress`). `webhook_receiver`, `scripted_server`:
plain servers the egress policy refuses (loopback) unless a test allows them. `fake_dns`: names resolve from a table.
Starting one costs a few milliseconds; nothing is shared between tests.
"""

import socket
from collections.abc import Iterator

import pytest

from tests.fakes.dns import Resolver
from tests.fakes.google import FakeGoogleServer
from tests.fakes.meta import FakeMetaServer
from tests.fakes.openai import FakeOpenAIServer
from tests.fakes.server import ScriptedServer, WebhookReceiver
from tests.fakes.waha import FakeWahaServer


@pytest.fixture
def fake_meta(settings) -> Iterator[FakeMetaServer]:
    """A fake Graph API. Tokens: any non-empty one (set `fake_meta.tokens = {...}` to restrict).

    Webhooks: set `fake_meta.webhook_url` (a URL, or `tests.fakes.django_client_target(client, path)`) and
    `fake_meta.app_secret` (default "test-app-secret"), then call `fake_meta.deliver_webhooks()`.
    """
    server = FakeMetaServer().start()
    settings.WHATSAPP_GRAPH_URL = server.base_url
    settings.WHATSAPP_APP_ID = server.app_id
    try:
        yield server
    finally:
        server.stop()


def allow_egress(settings, server) -> None:
    """Let the egress policy reach this fake (`127.0.0.1:<port>`, an EGRESS_ALLOWED_HOSTS entry): loopback is
    refused like any private address, and a test allows its fakes one by one, nothing else."""
    settings.EGRESS_ALLOWED_HOSTS = [*settings.EGRESS_ALLOWED_HOSTS, f"{server.host}:{server.port}"]


@pytest.fixture
def fake_waha(settings) -> Iterator[FakeWahaServer]:
    """A fake WAHA with no sessions yet; `X-Api-Key` must be `fake_waha.api_key` ("test-waha-key"). It is the hub's
    `WAHA_URL`, and the egress policy allows it by its own entry as well, so a number may also name it as its own
    server while `WAHA_URL` points elsewhere."""
    server = FakeWahaServer().start()
    settings.WAHA_URL = server.base_url
    allow_egress(settings, server)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake_openai(settings) -> Iterator[FakeOpenAIServer]:
    """A fake OpenAI-compatible API (chat completions, embeddings): `settings.OPENAI_BASE_URL` points at it and the
    egress policy allows it, so an organization may also name it as its own base URL. Any non-empty API key is
    accepted unless `fake_openai.api_key` is set; `script(...)`, `fail_next(...)`, `delay_next(...)` drive it."""
    server = FakeOpenAIServer().start()
    settings.OPENAI_BASE_URL = server.base_url
    allow_egress(settings, server)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake_google(settings) -> Iterator[FakeGoogleServer]:
    """A fake of Google's key set and token endpoint (tests/fakes/google.py): GOOGLE_JWKS_URL and GOOGLE_TOKEN_URL
    point at it, the client id and secret are set, the egress policy allows it, and the hub's cached keys are
    forgotten before and after."""
    from accounts import google

    server = FakeGoogleServer().start()
    settings.GOOGLE_JWKS_URL, settings.GOOGLE_TOKEN_URL = server.jwks_url, server.token_url
    settings.GOOGLE_CLIENT_ID, settings.GOOGLE_CLIENT_SECRET = server.client_id, server.client_secret
    allow_egress(settings, server)
    google.KEYS.clear()
    try:
        yield server
    finally:
        google.KEYS.clear()
        server.stop()


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """A bare HTTP endpoint that records what the fakes POST to it (`webhook_receiver.requests`)."""
    server = WebhookReceiver().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def scripted_server() -> Iterator[ScriptedServer]:
    """A server answering what the test scripts (`scripted_server.answer(path, Response(...))`); the egress policy
    does not allow it unless the test does (`allow_egress(settings, scripted_server)`)."""
    server = ScriptedServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake_dns(monkeypatch) -> Resolver:
    """Names resolve from `fake_dns.names` (public.example and example.com to a public address, localhost, a
    rebinding name, ...) instead of the real resolver; `fake_dns.lookups` lists the names asked."""
    resolver = Resolver()
    monkeypatch.setattr(socket, "getaddrinfo", resolver.getaddrinfo)
    return resolver
