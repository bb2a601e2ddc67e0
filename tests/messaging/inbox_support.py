"""Helpers of the inbox tests (conversations, sends, deliveries, media, search).

Requests run their after-commit callbacks (Celery is eager in tests), so a send's answer comes after the delivery
task ran, as a worker would have right after the commit.
"""

import asyncio
import base64
import hashlib
import threading
from datetime import timedelta

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.test import TestCase
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.services import api_key_create
from messaging import realtime
from messaging.models import Conversation, Media, Provider, WhatsAppNumber
from tests.fakes import django_client_target
from tests.messaging.factories import ConversationFactory, MessageFactory, WhatsAppNumberFactory
from tests.messaging.ingest_support import WAHA_HMAC_KEY

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8


def cloud_number(org, **fields) -> WhatsAppNumber:
    return WhatsAppNumberFactory(organization=org, **fields)


def waha_number(org, **fields) -> WhatsAppNumber:
    """A WAHA number on the hub's WAHA server (the fake's in tests); `fields` override the defaults."""
    defaults = {
        "provider": Provider.WAHA,
        "phone_number_id": "",
        "waba_id": "",
        "access_token": "",
        "app_secret": "",
        "verify_token": "",
        "waha_session": "default",
        "waha_base_url": "",  # settings.WAHA_URL: the fake WAHA's in tests
        "waha_api_key": "test-waha-key",
        "waha_webhook_hmac_key": WAHA_HMAC_KEY,
    }
    return WhatsAppNumberFactory(organization=org, **{**defaults, **fields})


def open_conversation(org, *, number: WhatsAppNumber | None = None, **fields) -> Conversation:
    """A conversation whose customer wrote an hour ago (inside the 24-hour window)."""
    fields.setdefault("last_inbound_at", timezone.now() - timedelta(hours=1))
    if number is not None:
        fields["number"] = number
    return ConversationFactory(organization=org, **fields)


def closed_window(org, **fields) -> Conversation:
    """A conversation whose customer last wrote 25 hours ago."""
    return open_conversation(org, last_inbound_at=timezone.now() - timedelta(hours=25), **fields)


def messages_url(conversation: Conversation) -> str:
    return f"/api/v1/conversations/{conversation.pk}/messages"


def committed(call, *args, **kwargs):
    """Run a client call and its after-commit callbacks (deliveries, receipts, media fetches, events)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return call(*args, **kwargs)


def send(client, conversation: Conversation, body: dict, *, multipart: bool = False):
    """POST a message to the conversation (JSON, or multipart for a file) with its deliveries run."""
    if multipart:
        return committed(client.post, messages_url(conversation), body, format="multipart")
    return committed(client.post, messages_url(conversation), body, format="json")


def api_key_client(org, *, role: str = Role.AGENT) -> APIClient:
    """A client authenticated with an organization API key (an integration: no user)."""
    _, raw = api_key_create(organization=org, name="integration", role=role, actor=None)
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw)
    return client


def deliver_meta_webhooks(client, fake_meta, org, number: WhatsAppNumber) -> None:
    """Post what the fake Graph API has queued (statuses of sends, ...) to the organization's webhook, signed
    with the number's app secret, and run the ingest that follows."""
    fake_meta.webhook_url = django_client_target(client, f"/webhooks/meta/{org.pk}/")
    fake_meta.app_secret = number.app_secret
    with TestCase.captureOnCommitCallbacks(execute=True):
        responses = fake_meta.deliver_webhooks()
    assert [response.status_code for response in responses] == [200] * len(responses)


def inbound_media(
    org, number, fake_meta, content: bytes = JPEG, *, mime: str = "image/jpeg", sha256: str | None = None
) -> Media:
    """An inbound image as ingest stores it: Meta's media id (the fake serves `content`) and base64 sha256, pending."""
    stored = fake_meta.add_media(content, mime, phone_number_id=number.phone_number_id)
    message = MessageFactory(organization=org, conversation=open_conversation(org, number=number), type="image")
    return Media.objects.create(
        organization=org,
        message=message,
        provider_media_id=stored.id,
        mime_type=mime,
        sha256=sha256 or base64.b64encode(hashlib.sha256(content).digest()).decode(),
    )


# How long a test waits for a live-inbox event.
WAIT_SECONDS = 10


def inbox_pushes(organization_id: int, *, group: str | None = None):
    """Join the organization's live inbox (or another channel group: a member's); returns a function that waits for
    the next `count` channel-layer messages (pushes: each carries its events, messaging.realtime.publish).

    With Redis (pub/sub) a subscription belongs to the event loop that made it, so the listener runs on a loop of its
    own in a thread and outlives the calls that publish in between. The in-memory layer (no REDIS_URL) cannot wake a
    loop from another thread: there each call receives on a loop of its own (its channels outlive loops)."""
    layer = get_channel_layer()
    if isinstance(layer, InMemoryChannelLayer):
        channel = async_to_sync(layer.new_channel)()
        async_to_sync(layer.group_add)(group or realtime.org_group(organization_id), channel)

        async def receive_here(count: int) -> list[dict]:
            return [await layer.receive(channel) for _ in range(count)]

        return async_to_sync(receive_here)

    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    pushes: list[dict] = []
    arrived = threading.Condition()
    joined = threading.Event()

    async def listen() -> None:
        channel = await layer.new_channel()
        await layer.group_add(group or realtime.org_group(organization_id), channel)
        joined.set()
        while True:
            message = await layer.receive(channel)
            with arrived:
                pushes.append(message)
                arrived.notify_all()

    asyncio.run_coroutine_threadsafe(listen(), loop)
    assert joined.wait(WAIT_SECONDS), "the live-inbox listener did not join"

    def receive(count: int) -> list[dict]:
        with arrived:
            assert arrived.wait_for(lambda: len(pushes) >= count, WAIT_SECONDS), f"{len(pushes)} of {count} pushes"
            taken, pushes[:] = pushes[:count], pushes[count:]
        return taken

    return receive


def listen_to_inbox(organization_id: int):
    """Join the organization's live inbox; returns a function that waits for the next `count` events, in the order of
    their sequence numbers, as a client reads them (the layer may swap pushes of one instant)."""
    pushes = inbox_pushes(organization_id)

    def receive(count: int) -> list[dict]:
        events: list[dict] = []
        while len(events) < count:
            [push] = pushes(1)
            events += push["events"]
        return sorted(events, key=lambda event: event["seq"])

    return receive
