"""The delivery task against the fake Graph API: retries with backoff for what is retryable, Meta's code and title
stored for what is not, idempotency, statuses coming back through the webhook, and a late 131047 shown like the
409 of the window."""

import base64

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from messaging.models import WINDOW_CLOSED_DETAIL, Message, Provider, WebhookEvent
from messaging.services import conversations as services
from messaging.services.retries import MAX_ATTEMPTS, backoff_countdown
from messaging.tasks.delivery import deliver_message
from tests.fakes.meta import ERRORS
from tests.messaging.factories import MediaFactory, MessageFactory
from tests.messaging.inbox_support import (
    cloud_number,
    deliver_meta_webhooks,
    messages_url,
    open_conversation,
    send,
    waha_number,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 64
TEXT = {"type": "text", "text": "Your order ships today"}


def _message(response) -> Message:
    assert response.status_code == 202, response.json()
    return Message.objects.get(pk=response.json()["id"])


def _shown(client, conversation, message: Message) -> dict:
    [row] = [row for row in client.get(messages_url(conversation)).json()["results"] if row["id"] == message.pk]
    return row


def _queued(conversation, **fields) -> Message:
    """An outbound text stored queued, as message_send leaves it (its delivery not run yet)."""
    part = {"type": "text", "text": {"body": "Hello"}}
    defaults = {"direction": "outbound", "status": "queued", "provider_message_id": None, "payload": part}
    return MessageFactory(organization=conversation.organization, conversation=conversation, **{**defaults, **fields})


# --- retries ---------------------------------------------------------------------------------------------


def test_throttling_is_retried_until_meta_accepts(agent_client, conversation, fake_meta):
    fake_meta.fail_next(130429, times=2)

    message = _message(send(agent_client, conversation, TEXT))

    [wamid] = fake_meta.sent
    assert (message.status, message.provider_message_id, message.attempts) == ("sent", wamid, 3)
    assert (message.error_code, message.error_title) == (None, "")
    assert len(fake_meta.sends()) == 3
    assert fake_meta.sends()[0] == fake_meta.sends()[2]


def test_throttling_that_never_ends_fails_after_the_last_attempt(agent_client, conversation, fake_meta):
    fake_meta.fail_next(130429, times=MAX_ATTEMPTS)

    message = _message(send(agent_client, conversation, TEXT))

    assert (message.status, message.error_code, message.error_title, message.attempts) == (
        "failed",
        130429,
        "Rate limit hit",
        MAX_ATTEMPTS,
    )
    assert message.provider_message_id is None
    assert len(fake_meta.sends()) == MAX_ATTEMPTS
    assert fake_meta.sent == {}


@pytest.mark.parametrize("code", [131056, 80007, 131000, 131016, 133004, 2])
def test_each_retryable_meta_error_is_retried(code, agent_client, conversation, fake_meta):
    fake_meta.fail_next(code)

    message = _message(send(agent_client, conversation, TEXT))

    assert (message.status, message.attempts, message.error_code) == ("sent", 2, None)
    assert len(fake_meta.sends()) == 2


def test_a_proxy_error_without_a_graph_body_is_retried(agent_client, conversation, fake_meta):
    fake_meta.fail_next_http(502)

    message = _message(send(agent_client, conversation, TEXT))

    assert (message.status, message.attempts) == ("sent", 2)


def test_the_backoff_grows_exponentially_with_jitter_and_a_cap():
    for attempt, ceiling in [(1, 4), (2, 16), (3, 64), (4, 256), (5, 300), (9, 300)]:
        countdowns = {backoff_countdown(attempt) for _ in range(20)}
        assert all(ceiling / 2 <= countdown <= ceiling for countdown in countdowns)
        assert len(countdowns) > 1


# --- permanent errors: Meta's code and title, visible in the API ---------------------------------------------

PERMANENT = [100, 131008, 131009, 131021, 131026, 131030, 131031, 131051, 132000, 132001, 132012, 132015, 368]


@pytest.mark.parametrize("code", PERMANENT)
def test_each_permanent_meta_error_is_stored_and_shown(code, agent_client, conversation, fake_meta):
    fake_meta.fail_next(code)

    message = _message(send(agent_client, conversation, TEXT))

    title = ERRORS[code][0]
    assert (message.status, message.error_code, message.error_title, message.attempts) == ("failed", code, title, 1)
    assert len(fake_meta.sends()) == 1
    row = _shown(agent_client, conversation, message)
    assert (row["status"], row["error_code"], row["error_title"], row["provider_message_id"]) == (
        "failed",
        code,
        title,
        None,
    )


def test_an_expired_token_fails_the_message_with_metas_explanation(agent_client, conversation, number, fake_meta):
    fake_meta.revoke_token(number.access_token)

    message = _message(send(agent_client, conversation, TEXT))

    assert (message.status, message.error_code, message.attempts) == ("failed", 190, 1)
    assert message.error_title.startswith("Error validating access token: Session has expired")


def test_a_bare_client_error_is_permanent_and_its_body_is_not_shown(agent_client, conversation, fake_meta):
    fake_meta.fail_next_http(400, body=b"Bad Request from proxy.internal", content_type="text/plain")

    message = _message(send(agent_client, conversation, TEXT))

    assert (message.status, message.error_code, message.error_title) == (
        "failed",
        None,
        "HTTP 400: The Graph API answered without an error description.",
    )


def test_a_refused_media_upload_fails_the_message_without_a_send(agent_client, conversation, fake_meta):
    fake_meta.fail_next(131053, endpoint="media")
    upload = SimpleUploadedFile("a.png", PNG, content_type="image/png")

    message = _message(send(agent_client, conversation, {"type": "image", "file": upload}, multipart=True))

    assert (message.status, message.error_code, message.error_title) == ("failed", 131053, "Media upload error")
    assert fake_meta.sends() == []


def test_a_synchronous_131047_reads_like_the_409_of_the_window(agent_client, conversation, fake_meta):
    fake_meta.fail_next(131047)

    message = _message(send(agent_client, conversation, TEXT))

    row = _shown(agent_client, conversation, message)
    assert (row["status"], row["error_code"], row["error_title"]) == ("failed", 131047, WINDOW_CLOSED_DETAIL)


# --- statuses back through the webhook ---------------------------------------------------------------------


def test_metas_statuses_move_the_sent_message_forward(client, org, agent_client, number, conversation, fake_meta):
    message = _message(send(agent_client, conversation, TEXT))

    deliver_meta_webhooks(client, fake_meta, org, number)

    message.refresh_from_db()
    assert message.status == "read"
    assert fake_meta.deliveries[0].payload["entry"][0]["changes"][0]["value"]["statuses"][0][
        "biz_opaque_callback_data"
    ] == (f"msg:{message.pk}")


def test_a_late_131047_is_shown_like_the_409_of_the_window(client, org, agent_client, number, fake_meta):
    # Our clock says the window is open, Meta's does not: Meta accepts, then reports failed with 131047.
    conversation = open_conversation(org, number=number)

    message = _message(send(agent_client, conversation, TEXT))
    assert message.status == "sent"
    deliver_meta_webhooks(client, fake_meta, org, number)

    message.refresh_from_db()
    assert (message.status, message.error_code) == ("failed", 131047)
    row = _shown(agent_client, conversation, message)
    assert (row["status"], row["error_code"], row["error_title"]) == ("failed", 131047, WINDOW_CLOSED_DETAIL)


# --- idempotency -------------------------------------------------------------------------------------------


def test_delivering_twice_sends_once(agent_client, conversation, fake_meta):
    message = _message(send(agent_client, conversation, TEXT))

    deliver_message.delay(message.organization_id, message.pk)
    services.message_deliver(organization_id=message.organization_id, message_id=message.pk, attempt=2)

    assert len(fake_meta.sends()) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 1)


def test_a_second_copy_of_the_same_attempt_does_not_send(conversation, fake_meta):
    message = _queued(conversation, attempts=1)  # a first copy of attempt 1 claimed it and is sending

    services.message_deliver(organization_id=message.organization_id, message_id=message.pk, attempt=1)

    assert fake_meta.requests == []
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("queued", 1)


@pytest.mark.parametrize(
    "fields",
    [{"provider_message_id": "wamid.ALREADY"}, {"status": "failed"}, {"status": "delivered"}],
)
def test_a_message_that_is_not_waiting_is_left_alone(fields, conversation, fake_meta):
    message = _queued(conversation, **fields)

    services.message_deliver(organization_id=message.organization_id, message_id=message.pk)

    assert fake_meta.requests == []
    message.refresh_from_db()
    assert message.attempts == 0


def test_an_inbound_or_missing_message_is_ignored(conversation, fake_meta):
    inbound = MessageFactory(organization=conversation.organization, conversation=conversation)

    services.message_deliver(organization_id=inbound.organization_id, message_id=inbound.pk)
    services.message_deliver(organization_id=inbound.organization_id, message_id=inbound.pk + 1000)

    assert fake_meta.requests == []


# --- other providers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "status", "events"), [("text", "read", 3), ("reaction", "sent", 1)])
def test_the_sandbox_plays_statuses_back_through_ingest_without_any_network(
    kind, status, events, org, agent_client, fake_meta
):
    sandbox = cloud_number(org, provider=Provider.SANDBOX, phone_number_id="", access_token="")
    conversation = open_conversation(org, number=sandbox)
    target = MessageFactory(organization=org, conversation=conversation)
    body = TEXT if kind == "text" else {"type": "reaction", "reaction": {"message_id": target.pk, "emoji": "👍"}}

    message = _message(send(agent_client, conversation, body))

    assert message.provider_message_id.startswith("wamid.sandbox")
    assert message.status == status  # sent, delivered, read; a reaction only ever gets sent (as on Meta)
    assert WebhookEvent.objects.filter(source="sandbox", status="processed").count() == events
    assert fake_meta.requests == []


def test_whatsapp_web_gets_media_inline(org, agent_client, fake_waha):
    fake_waha.add_session("default")
    conversation = open_conversation(org, number=waha_number(org))
    picture = MediaFactory(organization=org, filename="shop.png")
    content = picture.file.read()

    message = _message(send(agent_client, conversation, {"type": "image", "media_id": picture.pk, "caption": "New"}))

    assert message.status == "sent"
    assert fake_waha.sends("sendImage") == [
        {
            "session": "default",
            "chatId": f"{conversation.contact.wa_id}@c.us",
            "file": {"data": base64.b64encode(content).decode(), "mimetype": "image/png", "filename": "shop.png"},
            "caption": "New",
        }
    ]
