"""Fake external servers (Meta Graph API, WAHA) on 127.0.0.1 for tests, benchmarks and demos."""

from tests.fakes.meta import FakeMetaServer
from tests.fakes.server import (
    Delivery,
    FakeClock,
    Request,
    Response,
    ScriptedServer,
    WebhookReceiver,
    django_client_target,
    meta_signature,
    waha_hmac,
)
from tests.fakes.waha import FakeWahaServer

__all__ = [
    "Delivery",
    "FakeClock",
    "FakeMetaServer",
    "FakeWahaServer",
    "Request",
    "Response",
    "ScriptedServer",
    "WebhookReceiver",
    "django_client_target",
    "meta_signature",
    "waha_hmac",
]
