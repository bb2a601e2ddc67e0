"""WAHA webhooks over HTTP: message, message.any, message.reaction, message.ack and session.status, signed with
the number's HMAC-SHA512 key, and the request-id dedupe. What is refused (unsigned, wrongly signed, hostile JSON):
tests/security/test_webhooks_fail_closed.py."""

import copy

import pytest

from messaging.models import Contact, Conversation, Media, Message, WebhookEvent, WhatsAppNumber
from tests.messaging.inbox_support import waha_number
from tests.messaging.ingest_support import WAHA_HMAC_KEY, assert_nothing_stored, outbound, post_waha, waha_payload

INBOUND_ID = "false_11111111111@c.us_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
ACKED_ID = "true_11111111111@c.us_4CC5EDD64BC22EBA6D639F2AF571346C"


@pytest.fixture(autouse=True)
def _waha_is_the_fake(fake_waha, settings, tmp_path):
    """Media files are fetched after commit: from the fake WAHA (settings.WAHA_URL) into a temporary storage."""
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def number(org):
    return waha_number(org)


def _ack(ack: int, *, event_id: str) -> dict:
    payload = copy.deepcopy(waha_payload("message_ack"))
    payload["id"] = event_id
    payload["payload"]["ack"] = ack
    return payload


# --- message -------------------------------------------------------------------------------------------------


def test_an_inbound_message_becomes_a_contact_a_conversation_and_a_message(client, org, number):
    response = post_waha(client, org.pk, waha_payload("message"))

    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert (event.source, event.number, event.status) == ("waha", number, WebhookEvent.Status.PROCESSED)
    assert event.dedupe_key == "evt_01jnk5q0t3e6ev7w3tq9x4b8zr"
    contact = Contact.objects.get()
    assert (contact.organization, contact.wa_id, contact.phone, contact.profile_name) == (
        org,
        "11111111111",
        "+11111111111",  # no area code in service, but a possible US number: phones are checked for that only
        "John",
    )
    message = Message.objects.get()
    assert message.provider_message_id == INBOUND_ID
    assert (message.direction, message.type, message.text, message.status) == (
        "inbound",
        "text",
        "Hi there!",
        "received",
    )
    assert message.provider_timestamp.timestamp() == 1667561485
    assert message.conversation.number == number
    assert message.conversation.unread_count == 1


def test_a_media_message_keeps_its_caption_and_its_file_is_fetched_after_commit(client, org, number, fake_waha):
    jpeg = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4
    fake_waha.files[("default", "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB.jpeg")] = (jpeg, "image/jpeg")

    post_waha(client, org.pk, waha_payload("message_media"))

    message = Message.objects.get()
    assert (message.type, message.text) == ("image", "Our new storefront")
    media = Media.objects.get()
    assert (media.message, media.mime_type, media.provider_media_id) == (message, "image/jpeg", "")
    assert (media.status, media.size, media.file.read()) == (Media.Status.READY, len(jpeg), jpeg)


def test_a_reply_keeps_the_id_it_replies_to(client, org, number):
    post_waha(client, org.pk, waha_payload("message_reply"))

    assert Message.objects.get().reply_to_provider_id == "true_11111111111@c.us_3EB0378E606CA43FEF38D2"


def test_a_reaction_is_stored_as_a_reaction_to_its_message(client, org, number):
    post_waha(client, org.pk, waha_payload("message_reaction"))

    message = Message.objects.get()
    assert (message.type, message.text, message.reply_to_provider_id) == ("reaction", "🙏", ACKED_ID)


def test_a_hidden_number_chat_is_keyed_on_its_lid(client, org, number):
    payload = copy.deepcopy(waha_payload("message"))
    payload["payload"].update(id="false_172078351257794@lid_AAAA", **{"from": "172078351257794@lid"})

    post_waha(client, org.pk, payload)

    contact = Contact.objects.get()
    assert (contact.wa_id, contact.user_id) == (None, "172078351257794@lid")


def test_a_group_message_is_not_a_conversation(client, org, number):
    payload = copy.deepcopy(waha_payload("message"))
    payload["payload"].update(id="false_120363420500389503@g.us_3DCB", **{"from": "120363420500389503@g.us"})

    post_waha(client, org.pk, payload)

    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.PROCESSED
    assert "a group, channel or broadcast" in event.last_error
    assert Message.objects.count() == 0


def test_a_message_sent_from_the_phone_app_is_an_outbound_message_that_is_not_unread(client, org, number):
    payload = copy.deepcopy(waha_payload("message"))
    payload["event"] = "message.any"
    payload["payload"].update(
        id="true_11111111111@c.us_FROMPHONE", fromMe=True, source="app", to="11111111111@c.us", ack=2
    )
    payload["payload"]["from"] = "71111111111@c.us"

    post_waha(client, org.pk, payload)

    message = Message.objects.get()
    assert (message.direction, message.status, message.text) == ("outbound", "delivered", "Hi there!")
    conversation = message.conversation
    assert (conversation.unread_count, conversation.last_inbound_at, conversation.last_message_direction) == (
        0,
        None,
        "outbound",
    )
    assert conversation.contact.wa_id == "11111111111"


def test_a_message_the_hub_sent_through_the_api_is_not_recorded_twice(client, org, number):
    sent = outbound(number, "true_11111111111@c.us_SENTBYHUB")
    payload = copy.deepcopy(waha_payload("message"))
    payload["event"] = "message.any"
    payload["payload"].update(id="true_11111111111@c.us_SENTBYHUB", fromMe=True, source="api", to="11111111111@c.us")

    post_waha(client, org.pk, payload)

    assert list(Message.objects.values_list("pk", flat=True)) == [sent.pk]


def test_message_and_message_any_of_one_inbound_message_make_one_message(client, org, number):
    any_event = copy.deepcopy(waha_payload("message"))
    any_event.update(id="evt_other", event="message.any")

    post_waha(client, org.pk, waha_payload("message"))
    post_waha(client, org.pk, any_event)

    assert WebhookEvent.objects.count() == 2
    assert Message.objects.count() == 1
    assert Conversation.objects.get().unread_count == 1


# --- message.ack -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ack", "status"), [(-1, "failed"), (0, "sent"), (1, "sent"), (2, "delivered"), (3, "read"), (4, "read")]
)
def test_acks_map_to_statuses(client, org, number, ack, status):
    message = outbound(number, ACKED_ID, status=Message.Status.SENT)

    post_waha(client, org.pk, _ack(ack, event_id=f"evt_ack_{ack}"))

    message.refresh_from_db()
    assert message.status == status


def test_an_error_ack_marks_the_message_failed_with_a_title(client, org, number):
    message = outbound(number, ACKED_ID, status=Message.Status.SENT)

    post_waha(client, org.pk, _ack(-1, event_id="evt_error"))

    message.refresh_from_db()
    assert (message.status, message.error_code, message.error_title) == (
        "failed",
        None,
        "WAHA could not deliver the message (ack -1, ERROR).",
    )


def test_acks_only_move_forward(client, org, number):
    message = outbound(number, ACKED_ID, status=Message.Status.SENT)

    post_waha(client, org.pk, _ack(3, event_id="evt_read"))
    post_waha(client, org.pk, _ack(2, event_id="evt_device"))

    message.refresh_from_db()
    assert message.status == "read"


# --- session.status -------------------------------------------------------------------------------------------


def test_session_status_is_stored_on_the_number_of_that_session(client, org, number):
    other = waha_number(org, waha_session="sales")

    post_waha(client, org.pk, waha_payload("session_status_scan_qr_code"))
    number.refresh_from_db()
    assert number.session_status == "SCAN_QR_CODE"

    post_waha(client, org.pk, waha_payload("session_status"))
    number.refresh_from_db()
    other.refresh_from_db()
    assert (number.session_status, number.status) == ("WORKING", WhatsAppNumber.Status.ACTIVE)
    assert other.session_status == ""


def test_a_session_status_the_hub_does_not_model_changes_nothing(client, org, number):
    payload = copy.deepcopy(waha_payload("session_status"))
    payload["payload"]["status"] = "PASSKEY_CONFIRMATION_REQUIRED"

    post_waha(client, org.pk, payload)

    number.refresh_from_db()
    assert number.session_status == ""
    assert WebhookEvent.objects.get().last_error == "session status 'PASSKEY_CONFIRMATION_REQUIRED' not tracked"


# --- HMAC and dedupe --------------------------------------------------------------------------------------------


def test_the_numbers_key_signs_its_sessions_events(client, org, number):
    response = post_waha(client, org.pk, waha_payload("message"), hmac_key=WAHA_HMAC_KEY)

    assert response.status_code == 200
    assert WebhookEvent.objects.get().number == number
    assert Message.objects.count() == 1


def test_each_session_is_signed_with_its_own_numbers_key(client, org, number):
    sales = waha_number(org, waha_session="sales", waha_webhook_hmac_key="the-sales-numbers-own-key")
    payload = copy.deepcopy(waha_payload("session_status"))
    payload["session"] = "sales"

    response = post_waha(client, org.pk, payload, hmac_key="the-sales-numbers-own-key")

    assert response.status_code == 200
    sales.refresh_from_db()
    number.refresh_from_db()
    assert (sales.session_status, number.session_status) == ("WORKING", "")


def test_the_hmac_of_wahas_documented_test_vector_is_accepted(client, org):
    waha_number(org, waha_webhook_hmac_key="my-secret-key")
    raw = b'{"event":"message","session":"default","engine":"WEBJS"}'
    digest = (
        "208f8a55dde9e05519e898b10b89bf0d0b3b0fdf11fdbf09b6b90476301b98d8"
        "097c462b2b17a6ce93b6b47a136cf2e78a33a63f6752c2c1631777076153fa89"
    )

    response = post_waha(client, org.pk, raw, hmac_key=None, HTTP_X_WEBHOOK_HMAC=digest)

    assert response.status_code == 200


def test_the_same_request_id_is_stored_once(client, org, number):
    first = copy.deepcopy(waha_payload("message"))
    retry = copy.deepcopy(first)
    retry["timestamp"] += 2000  # WAHA's retry: the same request, re-serialised

    post_waha(client, org.pk, first, HTTP_X_WEBHOOK_REQUEST_ID="req-0001")
    post_waha(client, org.pk, retry, HTTP_X_WEBHOOK_REQUEST_ID="req-0001")

    assert WebhookEvent.objects.get().dedupe_key == "req-0001"
    assert Message.objects.count() == 1


def test_without_a_request_id_the_envelope_id_dedupes(client, org, number):
    post_waha(client, org.pk, waha_payload("message"))
    post_waha(client, org.pk, waha_payload("message"))

    assert list(WebhookEvent.objects.values_list("dedupe_key", flat=True)) == ["evt_01jnk5q0t3e6ev7w3tq9x4b8zr"]


def test_the_same_request_id_in_two_organizations_is_two_events(client, org, other_org, number):
    waha_number(other_org)

    post_waha(client, org.pk, waha_payload("message"), HTTP_X_WEBHOOK_REQUEST_ID="req-shared")
    post_waha(client, other_org.pk, waha_payload("message"), HTTP_X_WEBHOOK_REQUEST_ID="req-shared")

    assert sorted(WebhookEvent.objects.values_list("organization_id", flat=True)) == sorted([org.pk, other_org.pk])
    assert Message.objects.filter(organization=org).count() == 1
    assert Message.objects.filter(organization=other_org).count() == 1


# --- refusals ----------------------------------------------------------------------------------------------


def test_a_waha_body_over_3_mb_is_a_413(client, org, number):
    payload = copy.deepcopy(waha_payload("message"))
    payload["payload"]["body"] = "x" * (3 * 1024 * 1024)

    response = post_waha(client, org.pk, payload)

    assert response.status_code == 413
    assert_nothing_stored()
