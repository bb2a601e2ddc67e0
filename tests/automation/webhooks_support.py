"""What the outbound webhook tests share: factories, a receiver's signature check (written as a customer's receiver
would write it, from the README: it does not use the hub's code), and small helpers."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import factory

from automation.models import WebhookDelivery, WebhookEndpoint
from tests.factories import OrganizationFactory
from tests.fakes.pytest_plugin import allow_egress

WEBHOOKS = "/api/v1/webhooks"


class WebhookEndpointFactory(factory.django.DjangoModelFactory):
    """An active endpoint on an address nobody answers (`.invalid` never resolves), for rows that must exist; a
    test that delivers points one at a local receiver (`receiving_endpoint`)."""

    class Meta:
        model = WebhookEndpoint

    organization = factory.SubFactory(OrganizationFactory)
    url = factory.Sequence(lambda n: f"https://hooks{n}.example.invalid/receive")
    events = factory.LazyFunction(lambda: ["message.received"])
    secret = factory.Sequence(lambda n: f"whsec_test_secret_{n:06d}")


class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    """A finished (failed) delivery of a message.received event."""

    class Meta:
        model = WebhookDelivery

    endpoint = factory.SubFactory(WebhookEndpointFactory)
    organization = factory.SelfAttribute("endpoint.organization")
    event_id = factory.Sequence(lambda n: f"evt_{n:032x}")
    event_type = "message.received"
    payload = factory.LazyAttribute(
        lambda d: {
            "id": d.event_id,
            "type": d.event_type,
            "created_at": "2025-06-08T20:59:44Z",
            "organization_id": d.endpoint.organization_id,
            "data": {"message_id": 1},
        }
    )
    status = WebhookDelivery.Status.FAILED
    attempts = 8
    response_status = 500
    error_code = WebhookDelivery.Error.HTTP_STATUS


def receiving_endpoint(settings, server, organization, *, events=("message.received",), path="/hooks", **fields):
    """An endpoint of `organization` posting to the local `server` (allowed by the egress policy)."""
    allow_egress(settings, server)
    return WebhookEndpointFactory(organization=organization, url=f"{server.url}{path}", events=list(events), **fields)


def verify_signature(header: str, body: bytes, secret: str, *, tolerance: int = 300, now: float | None = None) -> bool:
    """A receiver's check of `X-Webhook-Signature` (the README's snippet): the timestamp is recent, and one of the
    v1 signatures is the HMAC-SHA256 of "<t>.<raw body>" with our secret (compared in constant time)."""
    parts = [part.split("=", 1) for part in header.split(",")]
    timestamps = [value for key, value in parts if key == "t"]
    signatures = [value for key, value in parts if key == "v1"]
    if len(timestamps) != 1 or not timestamps[0].isdigit() or not signatures:
        return False
    timestamp = int(timestamps[0])
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False  # too old (or from the future): a replay
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, signature) for signature in signatures)


def posted_events(server) -> list[dict]:
    """The JSON bodies the server received, in order."""
    return [json.loads(request.body) for request in server.requests]
