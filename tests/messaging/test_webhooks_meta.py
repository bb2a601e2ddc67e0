"""Meta webhooks over HTTP: the GET handshake on both URLs, the signature over the exact raw bytes, refusals
that store nothing, and every payload file of the reference stored and processed."""

import json

import pytest

from messaging.models import Message, WebhookEvent, WhatsAppNumber
from messaging.selectors.ingest import webhook_secrets_forget
from tests.factories import OrganizationFactory
from tests.fakes import meta_signature
from tests.messaging.factories import WhatsAppNumberFactory
from tests.messaging.ingest_support import (
    APP_SECRET,
    META_FILES,
    PHONE_NUMBER_ID,
    SECOND_APP_SECRET,
    SECOND_PHONE_NUMBER_ID,
    SECOND_VERIFY_TOKEN,
    VERIFY_TOKEN,
    assert_nothing_stored,
    cloud_numbers,
    meta_bytes,
    meta_payload,
    post_meta,
    sha256_hex,
)

pytestmark = pytest.mark.usefixtures("media_fetches_go_to_the_fake")


def _handshake(client, path: str, **params):
    query = {"hub.mode": "subscribe", "hub.challenge": "1158201444", **params}
    return client.get(path, query)


# --- GET: the verification handshake -----------------------------------------------------------------------


def test_the_handshake_echoes_the_challenge_as_plain_text(client, org, numbers):
    response = _handshake(client, f"/webhooks/meta/{org.pk}/", **{"hub.verify_token": VERIFY_TOKEN})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain"
    assert response.content == b"1158201444"


def test_any_cloud_number_of_the_organization_verifies_the_organization_url(client, org, numbers):
    response = _handshake(client, f"/webhooks/meta/{org.pk}", **{"hub.verify_token": SECOND_VERIFY_TOKEN})

    assert (response.status_code, response.content) == (200, b"1158201444")


def test_the_phone_url_handshake_takes_only_that_numbers_token(client, org, numbers):
    path = f"/webhooks/meta/{org.pk}/phone/{SECOND_PHONE_NUMBER_ID}/"

    own = _handshake(client, path, **{"hub.verify_token": SECOND_VERIFY_TOKEN})
    other = _handshake(client, path, **{"hub.verify_token": VERIFY_TOKEN})

    assert (own.status_code, own.content) == (200, b"1158201444")
    assert other.status_code == 403
    assert b"1158201444" not in other.content


@pytest.mark.parametrize(
    "params",
    [
        {"hub.verify_token": "wrong"},
        {"hub.verify_token": VERIFY_TOKEN, "hub.mode": "unsubscribe"},
        {"hub.verify_token": ""},
        {},
    ],
    ids=["wrong-token", "wrong-mode", "empty-token", "no-token"],
)
def test_the_handshake_refuses_a_wrong_token_or_mode(client, org, numbers, params):
    response = _handshake(client, f"/webhooks/meta/{org.pk}/", **params)

    assert response.status_code == 403
    assert response.json() == {"detail": "Verification failed: wrong mode or verify token."}


def test_another_organizations_token_does_not_verify(client, org, other_org, numbers):
    WhatsAppNumberFactory(organization=other_org, verify_token="globex-token")

    response = _handshake(client, f"/webhooks/meta/{org.pk}/", **{"hub.verify_token": "globex-token"})

    assert response.status_code == 403


@pytest.mark.parametrize("path", ["/webhooks/meta/999999/", f"/webhooks/meta/{{org}}/phone/{999}/"])
def test_the_handshake_of_an_unknown_organization_or_number_is_a_json_404(client, org, numbers, path):
    response = _handshake(client, path.format(org=org.pk), **{"hub.verify_token": VERIFY_TOKEN})

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_a_number_of_another_organization_is_not_found_under_this_one(client, org, other_org, numbers):
    path = f"/webhooks/meta/{other_org.pk}/phone/{PHONE_NUMBER_ID}/"

    response = _handshake(client, path, **{"hub.verify_token": VERIFY_TOKEN})

    assert response.status_code == 404


# --- POST: every payload file, signed over its exact bytes ------------------------------------------------


@pytest.mark.parametrize("name", META_FILES)
def test_every_reference_payload_is_stored_once_and_processed(client, org, numbers, name):
    payload = meta_payload(name)
    raw = meta_bytes(payload)

    response = post_meta(client, org.pk, raw)

    assert response.status_code == 200
    assert response.json() == {"status": "received"}
    event = WebhookEvent.objects.get()
    assert (event.organization_id, event.source, event.number_id) == (org.pk, "meta", None)
    assert event.body == payload
    assert event.dedupe_key == sha256_hex(raw)
    assert event.status == WebhookEvent.Status.PROCESSED
    assert event.processed_at is not None
    assert event.attempts == 1  # processed on its first attempt


def test_the_signature_covers_the_raw_bytes_as_sent_escaped_or_not(client, org, numbers):
    payload = meta_payload("batch")
    escaped = meta_bytes(payload)  # Meta's form: "Bonjour, \u00e7a va ?"
    utf8 = json.dumps(payload, ensure_ascii=False, indent=1).encode()

    assert post_meta(client, org.pk, escaped).status_code == 200
    assert post_meta(client, org.pk, utf8).status_code == 200

    assert WebhookEvent.objects.count() == 2  # different bytes, two deliveries
    assert Message.objects.filter(direction="inbound").count() == 3  # the same messages, stored once
    assert Message.objects.get(text__startswith="Bonjour").text == "Bonjour, ça va ?"


def test_an_identical_redelivery_is_one_event(client, org, numbers):
    raw = meta_bytes(meta_payload("text"))

    first = post_meta(client, org.pk, raw)
    second = post_meta(client, org.pk, raw)

    assert (first.status_code, second.status_code) == (200, 200)
    assert WebhookEvent.objects.count() == 1
    assert Message.objects.count() == 1


def test_the_phone_url_stores_the_event_for_that_number(client, org, numbers):
    raw = meta_bytes(meta_payload("audio"))

    response = post_meta(client, org.pk, raw, secret=SECOND_APP_SECRET, path=f"phone/{SECOND_PHONE_NUMBER_ID}/")

    assert response.status_code == 200
    assert WebhookEvent.objects.get().number == numbers[1]
    assert Message.objects.get().conversation.number == numbers[1]


def test_the_phone_url_takes_only_that_numbers_secret(client, org, numbers):
    raw = meta_bytes(meta_payload("audio"))

    response = post_meta(client, org.pk, raw, secret=APP_SECRET, path=f"phone/{SECOND_PHONE_NUMBER_ID}/")

    assert response.status_code == 401
    assert_nothing_stored()


# --- POST: refusals store nothing ---------------------------------------------------------------------------


def test_a_wrong_signature_is_a_401_and_stores_nothing(client, org, numbers):
    response = post_meta(client, org.pk, meta_payload("text"), secret="not-the-app-secret")

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid signature."}
    assert_nothing_stored()


def test_a_tampered_body_is_a_401_and_stores_nothing(client, org, numbers):
    raw = meta_bytes(meta_payload("text"))
    signature = meta_signature(raw, APP_SECRET)
    tampered = raw.replace(b"another color", b"a free sample")

    response = post_meta(client, org.pk, tampered, secret=None, HTTP_X_HUB_SIGNATURE_256=signature)

    assert response.status_code == 401
    assert_nothing_stored()


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha1=0329a06b62cd16b33eb6792be8c60b158d89a2ee",
        "0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914",
    ],
    ids=["missing", "empty", "sha1", "no-prefix"],
)
def test_a_missing_or_malformed_signature_header_is_a_401_and_stores_nothing(client, org, numbers, header):
    headers = {} if header is None else {"HTTP_X_HUB_SIGNATURE_256": header}

    response = post_meta(client, org.pk, meta_payload("text"), secret=None, **headers)

    assert response.status_code == 401
    assert response.json() == {"detail": "Missing or malformed X-Hub-Signature-256."}
    assert_nothing_stored()


def test_an_unknown_organization_is_a_json_404_and_stores_nothing(client, org, numbers):
    response = post_meta(client, 987654, meta_payload("text"))

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert_nothing_stored()


def test_an_organization_without_cloud_numbers_refuses_every_signature(client, org, numbers):
    bare = OrganizationFactory()

    response = post_meta(client, bare.pk, meta_payload("text"))

    assert response.status_code == 401
    assert_nothing_stored()


def test_one_organizations_signature_cannot_store_events_in_another(client, org, other_org, numbers):
    WhatsAppNumberFactory(organization=other_org, app_secret="globex-app-secret")

    response = post_meta(client, other_org.pk, meta_payload("text"), secret=APP_SECRET)

    assert response.status_code == 401
    assert_nothing_stored()


@pytest.mark.parametrize("raw", [b'{"object": "whatsapp_business_account", "entry": [', b"[1, 2]", b"\xff\xfe{}"])
def test_malformed_json_with_a_valid_signature_is_a_400_and_stores_nothing(client, org, numbers, raw):
    response = post_meta(client, org.pk, raw)

    assert response.status_code == 400
    assert response.json()["detail"] in {"The body is not valid JSON.", "The body must be a JSON object."}
    assert_nothing_stored()


def test_a_body_over_3_mb_is_a_413_and_stores_nothing(client, org, numbers):
    payload = meta_payload("text")
    payload["padding"] = "x" * (3 * 1024 * 1024)
    raw = meta_bytes(payload)

    response = post_meta(client, org.pk, raw)

    assert response.status_code == 413
    assert response.json() == {"detail": "The body is larger than 3145728 bytes."}
    assert_nothing_stored()


def test_a_body_of_exactly_3_mb_is_accepted(client, org, numbers):
    payload = meta_payload("value_errors")
    raw = meta_bytes(payload)
    payload["padding"] = "x" * (3 * 1024 * 1024 - len(raw) - len(',"padding":""'))
    raw = meta_bytes(payload)
    assert len(raw) == 3 * 1024 * 1024

    response = post_meta(client, org.pk, raw)

    assert response.status_code == 200
    assert WebhookEvent.objects.count() == 1


def test_other_methods_are_not_allowed(client, org, numbers):
    assert client.put(f"/webhooks/meta/{org.pk}/").status_code == 405
    assert client.delete(f"/webhooks/meta/{org.pk}/").status_code == 405
    assert_nothing_stored()


def test_a_nul_character_escaped_in_the_json_is_dropped_not_a_500(client, org, numbers):
    raw = meta_bytes(meta_payload("text")).replace(b"another color", b"another\\u0000 color")

    response = post_meta(client, org.pk, raw)

    assert response.status_code == 200
    assert WebhookEvent.objects.get().dedupe_key == sha256_hex(raw)
    assert Message.objects.get().text == "Does it come in another color?"


# --- cached secrets -----------------------------------------------------------------------------------------


def test_a_new_app_secret_verifies_at_once_although_secrets_are_cached(client, org, numbers):
    assert post_meta(client, org.pk, meta_payload("text")).status_code == 200  # secrets now cached
    WhatsAppNumber.objects.filter(pk=numbers[0].pk).update(app_secret="rotated-secret")

    response = post_meta(client, org.pk, meta_payload("text_reply"), secret="rotated-secret")

    assert response.status_code == 200
    assert Message.objects.count() == 2


def test_a_replaced_secret_is_refused_once_the_cache_is_told(client, org, numbers):
    assert post_meta(client, org.pk, meta_payload("text")).status_code == 200
    WhatsAppNumber.objects.filter(pk=numbers[0].pk).update(app_secret="rotated-secret")

    webhook_secrets_forget(organization_id=org.pk)
    response = post_meta(client, org.pk, meta_payload("text_reply"), secret=APP_SECRET)

    assert response.status_code == 401
    assert Message.objects.count() == 1


def test_a_number_added_later_verifies_at_once(client, org):
    bare = post_meta(client, org.pk, meta_payload("text"))  # no numbers yet: an empty list is cached
    cloud_numbers(org)

    added = post_meta(client, org.pk, meta_payload("text"))

    assert (bare.status_code, added.status_code) == (401, 200)
