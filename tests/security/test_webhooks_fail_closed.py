"""Inbound webhooks fail closed: a WAHA webhook must be signed with the key of the number running its session,
the signature is checked on the raw bytes before anything parses them (WAHA as Meta), and hostile JSON is a 400
(or stored safely), never a 500. A refused webhook stores nothing."""

import copy
import importlib
import io
import json
from datetime import UTC, datetime

import pytest
from django.apps import apps
from django.core.management import call_command
from django.test import TestCase

from accounts.models import AuditLog
from messaging.models import Message, WebhookEvent, WhatsAppNumber
from tests.assertions import assert_error
from tests.fakes import django_client_target, waha_hmac
from tests.messaging.inbox_support import waha_number
from tests.messaging.ingest_support import (
    WAHA_HMAC_KEY,
    assert_nothing_stored,
    cloud_numbers,
    meta_bytes,
    meta_payload,
    post_meta,
    post_waha,
    waha_payload,
)

BAD_SIGNATURE = "Missing or invalid X-Webhook-Hmac."
WRONG_SESSION = "The event's session is not the session of the number whose key signed it."


@pytest.fixture
def number(org):
    return waha_number(org)


def _message_body(body: str) -> bytes:
    """WAHA's `message` event with this text, serialised as WAHA does (compact, non-ASCII as is)."""
    payload = copy.deepcopy(waha_payload("message"))
    payload["payload"]["body"] = payload["payload"]["_data"]["body"] = body
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


# --- WAHA: signed, or refused ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_X_WEBHOOK_HMAC": ""},
        {"HTTP_X_WEBHOOK_HMAC": "   "},
        {"HTTP_X_WEBHOOK_HMAC": "0" * 128},
        {"HTTP_X_WEBHOOK_HMAC": "not hex at all é"},
        {"HTTP_X_WEBHOOK_HMAC": waha_hmac(b"another body", WAHA_HMAC_KEY)},
        {"HTTP_X_WEBHOOK_HMAC": waha_hmac(b"{}", "another-key"), "HTTP_X_WEBHOOK_HMAC_ALGORITHM": "sha512"},
    ],
    ids=["no-header", "empty", "blank", "zeros", "garbage", "other-body", "other-key"],
)
def test_an_unsigned_or_wrongly_signed_waha_webhook_is_401_and_stores_nothing(client, org, number, headers):
    response = post_waha(client, org.pk, waha_payload("message"), hmac_key=None, **headers)

    assert assert_error(response, 401) == {"detail": BAD_SIGNATURE}
    assert_nothing_stored()


def test_a_signature_of_another_algorithm_is_refused(client, org, number):
    response = post_waha(client, org.pk, waha_payload("message"), HTTP_X_WEBHOOK_HMAC_ALGORITHM="sha256")

    assert assert_error(response, 401) == {"detail": BAD_SIGNATURE}
    assert_nothing_stored()


def test_the_signature_header_is_compared_without_regard_to_case_or_surrounding_spaces(client, org, number):
    raw = json.dumps(waha_payload("message")).encode()

    response = post_waha(
        client, org.pk, raw, hmac_key=None, HTTP_X_WEBHOOK_HMAC=f" {waha_hmac(raw, WAHA_HMAC_KEY).upper()} "
    )

    assert response.status_code == 200
    assert WebhookEvent.objects.count() == 1


def test_a_webhook_naming_an_unknown_session_is_401_although_signed_by_a_number(client, org, number):
    payload = copy.deepcopy(waha_payload("message"))
    payload["session"] = "nobody"

    assert assert_error(post_waha(client, org.pk, payload), 401) == {"detail": WRONG_SESSION}
    assert_nothing_stored()


@pytest.mark.parametrize("session", [None, 42, ["default"], {"name": "default"}, ""])
def test_a_webhook_whose_session_is_not_a_name_is_401(client, org, number, session):
    payload = copy.deepcopy(waha_payload("message"))
    payload["session"] = session

    assert assert_error(post_waha(client, org.pk, payload), 401) == {"detail": WRONG_SESSION}
    assert_nothing_stored()


def test_a_numbers_key_signs_only_its_own_sessions_events(client, org, number):
    waha_number(org, waha_session="sales", waha_webhook_hmac_key="the-sales-numbers-own-key")
    payload = copy.deepcopy(waha_payload("message"))  # the `default` session: `number`'s

    response = post_waha(client, org.pk, payload, hmac_key="the-sales-numbers-own-key")

    assert assert_error(response, 401) == {"detail": WRONG_SESSION}
    assert_nothing_stored()


def test_a_number_without_a_key_receives_nothing_signed_or_not(client, org):
    # A row from before keys were required (the data migration gives one; this one escaped it).
    waha_number(org, waha_webhook_hmac_key="")

    unsigned = post_waha(client, org.pk, waha_payload("message"), hmac_key=None)
    signed_with_a_guess = post_waha(client, org.pk, waha_payload("message"), hmac_key="")

    assert assert_error(unsigned, 401) == {"detail": BAD_SIGNATURE}
    assert assert_error(signed_with_a_guess, 401) == {"detail": BAD_SIGNATURE}
    assert_nothing_stored()


def test_another_organizations_key_cannot_store_events_here(client, org, other_org):
    waha_number(org, waha_webhook_hmac_key="acme-key")
    waha_number(other_org, waha_webhook_hmac_key="globex-key")

    response = post_waha(client, org.pk, waha_payload("message"), hmac_key="globex-key")

    assert assert_error(response, 401) == {"detail": BAD_SIGNATURE}
    assert_nothing_stored()


def test_a_deleted_numbers_key_signs_nothing(client, org, number):
    WhatsAppNumber.objects.filter(pk=number.pk).update(deleted_at="2025-01-01T00:00:00Z")

    assert assert_error(post_waha(client, org.pk, waha_payload("message")), 401) == {"detail": BAD_SIGNATURE}
    assert_nothing_stored()


def test_a_signed_webhook_to_an_unknown_organization_is_404(client, org, number):
    assert assert_error(post_waha(client, 987654, waha_payload("message")), 404) == {"detail": "Not found."}
    assert_nothing_stored()


def test_a_rotated_key_signs_at_once_and_the_old_one_stops_at_once(
    client, org, number, admin_client, django_capture_on_commit_callbacks, fake_waha
):
    assert post_waha(client, org.pk, waha_payload("message")).status_code == 200  # the key is now kept

    with django_capture_on_commit_callbacks(execute=True):
        patched = admin_client.patch(
            f"/api/v1/numbers/{number.pk}", {"waha_webhook_hmac_key": "a-brand-new-key"}, format="json"
        )
    assert patched.status_code == 200

    reaction = waha_payload("message_reaction")
    assert assert_error(post_waha(client, org.pk, reaction), 401) == {"detail": BAD_SIGNATURE}
    assert post_waha(client, org.pk, reaction, hmac_key="a-brand-new-key").status_code == 200
    assert WebhookEvent.objects.count() == 2


def test_a_renamed_session_is_recognised_at_once(client, org, number):
    assert post_waha(client, org.pk, waha_payload("message")).status_code == 200  # the session is now kept
    WhatsAppNumber.objects.filter(pk=number.pk).update(waha_session="renamed")  # by another process
    payload = copy.deepcopy(waha_payload("message_reaction"))
    payload["session"] = "renamed"

    assert post_waha(client, org.pk, payload).status_code == 200
    assert WebhookEvent.objects.filter(number=number).count() == 2


# --- authenticated before parsed ---------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"{not json", b"", b"\xff\xfe", b"[" * 100_000, b'"message"'])
def test_an_unsigned_body_is_401_before_anything_parses_it(client, org, number, raw):
    waha = post_waha(client, org.pk, raw, hmac_key=None)
    wrongly_signed = post_waha(client, org.pk, raw, hmac_key="another-key")
    cloud_numbers(org)
    meta = post_meta(client, org.pk, raw, secret=None)
    meta_wrongly_signed = post_meta(client, org.pk, raw, secret="another-secret")

    assert [r.status_code for r in (waha, wrongly_signed, meta, meta_wrongly_signed)] == [401] * 4
    assert_nothing_stored()


# --- hostile JSON, once authenticated ----------------------------------------------------------------------

NESTED = b'{"session": "default", "payload": ' + b"[" * 100 + b"]" * 100 + b"}"
HOSTILE = {
    "deep-arrays": b"[" * 100_000 + b"]" * 100_000,
    "deep-objects": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "nested-beyond-the-limit": NESTED,
    "nan": b'{"session": "default", "timestamp": NaN}',
    "infinity": b'{"session": "default", "timestamp": -Infinity}',
    "float-overflow": b'{"session": "default", "timestamp": 1e400}',
    "5000-digits": b'{"session": "default", "timestamp": ' + b"9" * 5000 + b"}",
    "invalid-utf-8": b'{"session": "default", "body": "\xc3\x28"}',
    "utf-8-surrogate-bytes": b'{"session": "default", "body": "\xed\xa0\x80"}',
    "utf-16": '{"session": "default"}'.encode("utf-16"),
    "utf-8-bom": b'\xef\xbb\xbf{"session": "default"}',
    "raw-nul": b'{"session": "default", "body": "a\x00b"}',
    "truncated": b'{"session": "default", "payload": {',
    "empty": b"",
    "array": b'[{"session": "default"}]',
    "string": b'"default"',
    "trailing-garbage": b'{"session": "default"} {}',
}


@pytest.mark.parametrize("raw", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_json_signed_by_the_number_is_400_and_stores_nothing(client, org, number, raw):
    response = post_waha(client, org.pk, raw)

    body = assert_error(response, 400)
    assert body["detail"] in {
        "The body is not valid JSON.",
        "The body must be a JSON object.",
        "The body nests deeper than 64 levels.",
    }
    assert_nothing_stored()


@pytest.mark.parametrize("raw", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_json_signed_by_meta_is_400_and_stores_nothing(client, org, raw):
    cloud_numbers(org)

    assert_error(post_meta(client, org.pk, raw), 400)
    assert_nothing_stored()


def test_nesting_up_to_the_limit_is_stored(client, org, number):
    payload = copy.deepcopy(waha_payload("message"))
    deep: list = []
    payload["payload"]["_data"]["quoted"] = deep
    for _ in range(64 - 4):  # the envelope, payload, _data and quoted are 4 levels
        deep.append([])
        deep = deep[0]

    assert post_waha(client, org.pk, payload).status_code == 200
    assert Message.objects.get().text == "Hi there!"


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        (_message_body("Hi").replace(b'"Hi"', b'"H\\u0000i"'), "Hi"),
        (_message_body("Hi").replace(b'"Hi"', b'"Hi \\ud83d!"'), "Hi \ufffd!"),
        (_message_body("Hi").replace(b'"Hi"', b'"\\uDE4F Hi"'), "\ufffd Hi"),
        (_message_body("Hi").replace(b'"Hi"', b'"\\ud83d\\ude4f Hi"'), "🙏 Hi"),
        (_message_body("🙏 مرحبا"), "🙏 مرحبا"),
    ],
    ids=["nul", "lone-high-surrogate", "lone-low-surrogate", "surrogate-pair", "utf-8"],
)
def test_strings_postgresql_cannot_hold_are_stored_safely(client, org, number, raw, stored):
    response = post_waha(client, org.pk, raw)

    assert response.status_code == 200
    assert WebhookEvent.objects.get().body["payload"]["body"] == stored
    assert Message.objects.get().text == stored


def test_a_nul_in_a_key_is_dropped(client, org, number):
    raw = _message_body("Hi").replace(b'"vCards"', b'"vCa\\u0000rds"')

    assert post_waha(client, org.pk, raw).status_code == 200
    assert WebhookEvent.objects.get().body["payload"]["vCards"] == []


def test_a_duplicate_key_keeps_its_last_value_as_jsonb_does(client, org, number):
    raw = _message_body("first").replace(b'"body":"first"', b'"body":"first","body":"last"', 1)

    assert post_waha(client, org.pk, raw).status_code == 200
    assert WebhookEvent.objects.get().body["payload"]["body"] == "last"
    assert Message.objects.get().text == "last"


def test_a_huge_integer_is_stored_and_ingest_falls_back_to_the_envelopes_time(client, org, number):
    payload = copy.deepcopy(waha_payload("message"))
    payload["payload"]["timestamp"] = 10**4000

    assert post_waha(client, org.pk, payload).status_code == 200
    assert WebhookEvent.objects.get().body["payload"]["timestamp"] == 10**4000
    envelope_ms = waha_payload("message")["timestamp"]
    assert Message.objects.get().provider_timestamp == datetime.fromtimestamp(envelope_ms / 1000, UTC)


def test_a_meta_payload_with_a_lone_surrogate_is_stored_safely(client, org):
    cloud_numbers(org)
    raw = meta_bytes(meta_payload("text")).replace(b"another color", b"another \\udc80color")

    assert post_meta(client, org.pk, raw).status_code == 200
    assert Message.objects.get().text == "Does it come in another \ufffdcolor?"


# --- every WAHA number has a key -----------------------------------------------------------------------------


def test_a_patch_cannot_blank_the_key_only_rotate_it(org, number, admin_client):
    for blank in ["", "   "]:
        response = admin_client.patch(f"/api/v1/numbers/{number.pk}", {"waha_webhook_hmac_key": blank}, format="json")

        body = assert_error(response, 400)
        assert list(body["errors"]) == ["waha_webhook_hmac_key"]
    number.refresh_from_db()
    assert number.waha_webhook_hmac_key == WAHA_HMAC_KEY
    assert not AuditLog.objects.filter(action="number.update").exists()


def test_a_waha_number_created_without_a_key_gets_one(org, admin_client, fake_waha, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/api/v1/numbers",
            {"display_name": "Web", "provider": "waha", "waha_webhook_hmac_key": ""},
            format="json",
        )

    assert response.status_code == 201
    assert len(WhatsAppNumber.objects.get().waha_webhook_hmac_key) >= 40


def _give_keys():
    """Run the data migration that gives every WAHA number a webhook key (on today's models)."""
    migration = importlib.import_module("messaging.migrations.0005_waha_numbers_get_webhook_keys")
    migration.give_keys(apps, None)


def test_the_data_migration_gives_every_keyless_waha_number_a_key_and_keeps_the_others(org):
    keyless = waha_number(org, waha_session="old", waha_webhook_hmac_key="")
    keyed = waha_number(org, waha_session="kept")
    cloud = cloud_numbers(org)[0]
    WhatsAppNumber.objects.filter(pk=cloud.pk).update(waha_webhook_hmac_key="")

    _give_keys()

    keyless.refresh_from_db()
    keyed.refresh_from_db()
    cloud.refresh_from_db()
    assert len(keyless.waha_webhook_hmac_key) >= 40
    assert keyed.waha_webhook_hmac_key == WAHA_HMAC_KEY
    assert cloud.waha_webhook_hmac_key == ""


def test_after_the_migration_the_sync_command_makes_waha_sign_and_its_webhooks_are_accepted(
    client, org, fake_waha, settings, django_capture_on_commit_callbacks
):
    settings.PUBLIC_BASE_URL = "https://hub.example.com"
    legacy = waha_number(org, waha_session=f"org{org.pk}-web", waha_webhook_hmac_key="")
    unsigned = {"url": f"https://hub.example.com/webhooks/waha/{org.pk}/", "events": ["message"], "hmac": None}
    fake_waha.add_session(legacy.waha_session, config={"webhooks": [unsigned]})
    _give_keys()
    legacy.refresh_from_db()

    output = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("waha_sessions_sync", stdout=output)

    assert output.getvalue() == "Queued the sync of 1 WAHA session(s).\n"

    [hook] = fake_waha.session(legacy.waha_session).config["webhooks"]
    assert hook["hmac"] == {"key": legacy.waha_webhook_hmac_key}
    fake_waha.send_inbound("+966501234567", "Hello after the upgrade", session=legacy.waha_session)
    # WAHA restarted the session for its new config (session.status events), then the message came.
    assert {webhook.target for webhook in fake_waha.pending} == {hook["url"]}
    for pending in fake_waha.pending:
        pending.target = django_client_target(client, f"/webhooks/waha/{org.pk}/")  # the hub's URL, in this process
    with TestCase.captureOnCommitCallbacks(execute=True):
        responses = fake_waha.deliver_webhooks()
    assert [response.status_code for response in responses] == [200] * len(responses)
    assert len(responses) >= 2
    assert Message.objects.get().text == "Hello after the upgrade"
