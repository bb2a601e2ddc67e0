"""The fake Graph API speaks Meta's formats: auth, errors, statuses, 24-hour window, pair limit, media, templates,
signed webhooks."""

import base64
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.fakes.meta import DEFAULT_PHONE_NUMBER_ID, DEFAULT_WABA_ID, FakeMetaServer, status_error
from tests.fakes.server import django_client_target, meta_signature

TO = "+16505551234"
WA_ID = "16505551234"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "meta"
AUTH = {"Authorization": "Bearer EAAG-token"}


def post_message(fake: FakeMetaServer, body: dict, *, headers: dict | None = None) -> requests.Response:
    url = f"{fake.base_url}/{DEFAULT_PHONE_NUMBER_ID}/messages"
    return requests.post(url, json=body, headers=AUTH if headers is None else headers, timeout=5)


def text(body: str = "hi", to: str = TO) -> dict:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"body": body},
    }


def statuses(payloads: list[dict]) -> list[dict]:
    return [s for p in payloads for c in p["entry"][0]["changes"] for s in c["value"].get("statuses", [])]


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


# --- signatures and delivery ------------------------------------------------------------------------------


def test_the_signature_matches_the_reference_test_vector():
    assert meta_signature(b"test", "secret") == (
        "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914"
    )


def test_webhooks_are_signed_over_the_exact_ascii_escaped_bytes(fake_meta, webhook_receiver):
    fake_meta.webhook_url = webhook_receiver.url + "/webhooks/meta/acme/"
    fake_meta.app_secret = "app-secret"
    message = fake_meta.send_inbound(WA_ID, text="Ça va 👍", name="Zoë")

    responses = fake_meta.deliver_webhooks()

    assert [r.status_code for r in responses] == [200]
    [request] = webhook_receiver.requests
    assert request.path == "/webhooks/meta/acme/"
    assert b"\\u00c7a va \\ud83d\\udc4d" in request.body  # non-ASCII escaped, as Meta sends it
    expected = "sha256=" + hmac.new(b"app-secret", request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Hub-Signature-256"] == expected
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body) == {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": DEFAULT_WABA_ID,
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550783881",
                                "phone_number_id": DEFAULT_PHONE_NUMBER_ID,
                            },
                            "contacts": [{"profile": {"name": "Zoë"}, "wa_id": WA_ID}],
                            "messages": [
                                {
                                    "from": WA_ID,
                                    "id": message["id"],
                                    "timestamp": message["timestamp"],
                                    "type": "text",
                                    "text": {"body": "Ça va 👍"},
                                }
                            ],
                        },
                        "field": "messages",
                    }
                ],
            }
        ],
    }
    assert fake_meta.pending == []


def test_a_webhook_not_answered_200_stays_queued_for_a_retry(fake_meta, webhook_receiver):
    fake_meta.webhook_url = webhook_receiver.url
    fake_meta.send_inbound(WA_ID, text="hello")
    webhook_receiver.status = 500

    assert [r.status_code for r in fake_meta.deliver_webhooks()] == [500]
    assert len(fake_meta.pending) == 1

    webhook_receiver.status = 200
    assert [r.status_code for r in fake_meta.deliver_webhooks()] == [200]
    assert fake_meta.pending == []
    assert webhook_receiver.requests[0].body == webhook_receiver.requests[1].body  # the same bytes, redelivered


def test_batches_duplicates_and_out_of_order_deliveries(fake_meta):
    received = []
    fake_meta.webhook_url = lambda body, headers: received.append(json.loads(body)) or _Ok()
    fake_meta.send_inbound(WA_ID, text="one")
    fake_meta.send_inbound("16505559876", text="two", name="Pablo")
    post_message(fake_meta, text())

    fake_meta.deliver_webhooks(batch=True)

    [batch] = received
    value = batch["entry"][0]["changes"][0]["value"]
    assert [m["text"]["body"] for m in value["messages"]] == ["one", "two"]
    assert [c["wa_id"] for c in value["contacts"]] == [WA_ID, "16505559876"]
    assert [s["status"] for s in value["statuses"]] == ["sent", "delivered", "read"]

    received.clear()
    wamid = next(iter(fake_meta.sent))
    fake_meta.queue_status(wamid, "delivered")
    fake_meta.queue_status(wamid, "read")
    fake_meta.deliver_webhooks(duplicate=True, reverse=True)
    assert [s["status"] for s in statuses(received)] == ["read", "read", "delivered", "delivered"]


def test_django_client_target_maps_headers_to_wsgi_meta():
    calls = []

    class Client:
        def post(self, path, **kwargs):
            calls.append((path, kwargs))
            return _Ok()

    target = django_client_target(Client(), "/webhooks/meta/acme/")
    target(b"{}", {"Content-Type": "application/json", "X-Hub-Signature-256": "sha256=ab"})

    assert calls == [
        (
            "/webhooks/meta/acme/",
            {"data": b"{}", "content_type": "application/json", "HTTP_X_HUB_SIGNATURE_256": "sha256=ab"},
        )
    ]


def test_verification_handshake_is_metas_get(fake_meta, webhook_receiver):
    fake_meta.webhook_url = webhook_receiver.url + "/hook"

    response = fake_meta.verify_webhook("vibecoding", challenge="1158201444")

    assert (response.status_code, response.text) == (200, "1158201444")
    assert webhook_receiver.requests[0].query == {
        "hub.mode": "subscribe",
        "hub.challenge": "1158201444",
        "hub.verify_token": "vibecoding",
    }


# --- auth ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer "}, {"Authorization": "Basic abc"}])
def test_a_missing_token_is_401_with_oauth_190(fake_meta, headers):
    response = post_message(fake_meta, text(), headers=headers)

    assert response.status_code == 401
    error = response.json()["error"]
    assert {k: v for k, v in error.items() if k != "fbtrace_id"} == {
        "message": "Invalid OAuth access token - Cannot parse access token",
        "type": "OAuthException",
        "code": 190,
    }
    assert fake_meta.sent == {}


def test_only_registered_tokens_pass_when_a_set_is_given(fake_meta):
    fake_meta.tokens = {"good"}

    assert post_message(fake_meta, text(), headers={"Authorization": "Bearer bad"}).status_code == 401
    assert post_message(fake_meta, text(), headers={"Authorization": "Bearer good"}).status_code == 200


def test_a_revoked_token_has_expired(fake_meta):
    fake_meta.revoke_token("EAAG-token")

    error = post_message(fake_meta, text()).json()["error"]

    assert (error["code"], error["error_subcode"]) == (190, 463)
    assert error["message"].startswith("Error validating access token: Session has expired")


# --- sends, statuses, errors -----------------------------------------------------------------------------


def test_a_send_answers_metas_success_shape_and_queues_sent_delivered_read(fake_meta):
    fake_meta.clock.set(1_750_030_000)
    fake_meta.open_window(WA_ID)

    response = post_message(fake_meta, {**text(), "biz_opaque_callback_data": "campaign:7"})

    assert response.status_code == 200
    wamid = response.json()["messages"][0]["id"]
    assert response.json() == {
        "messaging_product": "whatsapp",
        "contacts": [{"input": TO, "wa_id": WA_ID}],
        "messages": [{"id": wamid}],
    }
    sent, delivered, read = statuses(fake_meta.pending_payloads)
    conversation = sent["conversation"]["id"]
    assert sent == {
        "id": wamid,
        "status": "sent",
        "timestamp": "1750030000",
        "recipient_id": WA_ID,
        "biz_opaque_callback_data": "campaign:7",
        "conversation": {"id": conversation, "expiration_timestamp": "1750116400", "origin": {"type": "service"}},
        "pricing": {"billable": False, "pricing_model": "PMP", "type": "free_customer_service", "category": "service"},
    }
    assert delivered["conversation"] == {"id": conversation, "origin": {"type": "service"}}
    assert read == {
        "id": wamid,
        "status": "read",
        "timestamp": "1750030002",
        "recipient_id": WA_ID,
        "biz_opaque_callback_data": "campaign:7",
    }
    assert sorted(sent) == sorted([*statuses([fixture("status_sent.json")])[0], "biz_opaque_callback_data"])


def test_free_form_outside_the_window_is_accepted_then_fails_with_131047(fake_meta):
    response = post_message(fake_meta, text())

    assert response.status_code == 200
    [failed] = statuses(fake_meta.pending_payloads)
    assert failed["status"] == "failed"
    assert failed["errors"] == [
        {
            "code": 131047,
            "title": "Re-engagement message",
            "message": "Re-engagement message",
            "error_data": {
                "details": "Message failed to send because more than 24 hours have passed since the customer last "
                "replied to this number."
            },
            "href": "/documentation/business-messaging/whatsapp/support/error-codes",
        }
    ]


def test_the_window_closes_24_hours_after_the_last_inbound_but_templates_still_go(fake_meta):
    fake_meta.clock.set(1_750_000_000)
    fake_meta.send_inbound(WA_ID, text="hi", queue=False)
    fake_meta.clock.advance(24 * 3600)
    post_message(fake_meta, text("just in time"))
    fake_meta.clock.advance(1)
    post_message(fake_meta, text("too late"))
    template = {
        "messaging_product": "whatsapp",
        "to": TO,
        "type": "template",
        "template": {"name": "hello_world", "language": {"code": "en_US"}},
    }
    post_message(fake_meta, template)

    assert [s["status"] for s in statuses(fake_meta.pending_payloads)] == [
        "sent",
        "delivered",
        "read",
        "failed",
        "sent",
        "delivered",
        "read",
    ]


@pytest.mark.parametrize("code", [131047, 131026, 131049, 131050])
def test_scripted_async_failures_arrive_as_failed_statuses(fake_meta, code):
    fake_meta.open_window(WA_ID)
    fake_meta.fail_next_async(code, to=TO)

    assert post_message(fake_meta, text()).status_code == 200
    assert post_message(fake_meta, text()).status_code == 200

    first, *rest = statuses(fake_meta.pending_payloads)
    assert first["status"] == "failed"
    assert first["errors"] == [status_error(code)]
    assert [s["status"] for s in rest] == ["sent", "delivered", "read"]


def test_scripted_sync_errors_carry_metas_exact_body(fake_meta):
    fake_meta.fail_next(130429)

    response = post_message(fake_meta, text())

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["fbtrace_id"].startswith("A")
    assert {k: v for k, v in error.items() if k != "fbtrace_id"} == {
        "message": "(#130429) Rate limit hit",
        "type": "OAuthException",
        "code": 130429,
        "error_data": {"messaging_product": "whatsapp", "details": "Cloud API message throughput has been reached."},
        "error_subcode": 2494055,
    }
    assert list(error) == ["message", "type", "code", "error_data", "error_subcode", "fbtrace_id"]


def test_the_pair_rate_limit_allows_a_burst_of_45_then_one_per_6_seconds(fake_meta):
    fake_meta.clock.set(1_750_000_000)
    fake_meta.open_window(WA_ID)

    codes = [post_message(fake_meta, text()).status_code for _ in range(46)]

    assert codes == [200] * 45 + [400]
    assert fake_meta.requests[-1].json == text()
    error = post_message(fake_meta, text()).json()["error"]
    assert (error["code"], error["message"]) == (
        131056,
        "(#131056) (Business Account, Consumer Account) pair rate limit hit",
    )
    assert post_message(fake_meta, text(to="+16505559876")).status_code == 200  # another user is not limited
    fake_meta.clock.advance(6)
    assert post_message(fake_meta, text()).status_code == 200
    assert post_message(fake_meta, text()).status_code == 400


def test_throughput_limit_answers_130429(fake_meta):
    fake_meta.clock.set(1_750_000_000)
    fake_meta.throughput_mps = 2

    codes = [post_message(fake_meta, text(to=f"+1650555000{i}")).status_code for i in range(3)]

    assert codes == [200, 200, 400]


def _interactive_buttons(n: int) -> dict:
    buttons = [{"type": "reply", "reply": {"id": f"b{i}", "title": f"B{i}"}} for i in range(n)]
    return {"type": "button", "body": {"text": "Pick"}, "action": {"buttons": buttons}}


def _list(rows: int) -> dict:
    section = {"title": "S", "rows": [{"id": f"r{i}", "title": f"R{i}"} for i in range(rows)]}
    return {"type": "list", "body": {"text": "Pick"}, "action": {"button": "Open", "sections": [section]}}


VALIDATION_CASES = {
    "no_messaging_product": ({"to": TO, "type": "text", "text": {"body": "x"}}, 100),
    "no_to": ({"messaging_product": "whatsapp", "type": "text", "text": {"body": "x"}}, 100),
    "unknown_type": ({"messaging_product": "whatsapp", "to": TO, "type": "hologram", "hologram": {}}, 131051),
    "no_type_object": ({"messaging_product": "whatsapp", "to": TO, "type": "image"}, 131008),
    "empty_body": ({"messaging_product": "whatsapp", "to": TO, "type": "text", "text": {"body": ""}}, 131008),
    "id_and_link": (
        {"messaging_product": "whatsapp", "to": TO, "type": "image", "image": {"id": "1", "link": "https://x/y.png"}},
        100,
    ),
    "four_buttons": (
        {"messaging_product": "whatsapp", "to": TO, "type": "interactive", "interactive": _interactive_buttons(4)},
        131009,
    ),
    "eleven_rows": (
        {"messaging_product": "whatsapp", "to": TO, "type": "interactive", "interactive": _list(11)},
        131009,
    ),
    "location_without_longitude": (
        {"messaging_product": "whatsapp", "to": TO, "type": "location", "location": {"latitude": 1}},
        131008,
    ),
    "contact_without_name": (
        {"messaging_product": "whatsapp", "to": TO, "type": "contacts", "contacts": [{"phones": []}]},
        131008,
    ),
    "reaction_without_emoji": (
        {"messaging_product": "whatsapp", "to": TO, "type": "reaction", "reaction": {"message_id": "wamid.x"}},
        131008,
    ),
    "template_without_language": (
        {"messaging_product": "whatsapp", "to": TO, "type": "template", "template": {"name": "x"}},
        131008,
    ),
}


@pytest.mark.parametrize(("body", "code"), VALIDATION_CASES.values(), ids=VALIDATION_CASES.keys())
def test_it_validates_send_bodies_like_meta(fake_meta, body, code):
    response = post_message(fake_meta, body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert fake_meta.sent == {}


def test_templates_are_checked_against_the_library_once_it_has_some(fake_meta):
    fake_meta.add_template("order_update", components=[{"type": "BODY", "text": "Hi {{1}}, order {{2}}"}])
    fake_meta.add_template("paused_one", status="PAUSED")

    def send(name, params, language="en_US"):
        template = {"name": name, "language": {"code": language}}
        if params is not None:
            template["components"] = [{"type": "body", "parameters": params}]
        body = {"messaging_product": "whatsapp", "to": TO, "type": "template", "template": template}
        return post_message(fake_meta, body)

    two = [{"type": "text", "text": "Ann"}, {"type": "text", "text": "A-1"}]
    assert send("order_update", two).status_code == 200
    assert (send("order_update", two, "fr").status_code, send("missing", two).json()["error"]["code"]) == (404, 132001)
    assert send("order_update", two[:1]).json()["error"]["code"] == 132000
    bad_currency = [two[0], {"type": "currency", "currency": {"fallback_value": "$1", "code": "USD"}}]
    assert send("order_update", bad_currency).json()["error"]["code"] == 132012
    assert send("paused_one", None).json()["error"]["code"] == 132015
    [sent] = statuses(fake_meta.pending_payloads)[:1]
    assert sent["pricing"] == {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "marketing"}


def test_a_reaction_to_an_unknown_message_fails_with_131009(fake_meta):
    fake_meta.open_window(WA_ID)
    body = {
        "messaging_product": "whatsapp",
        "to": TO,
        "type": "reaction",
        "reaction": {"message_id": "wamid.nope", "emoji": "👍"},
    }

    assert post_message(fake_meta, body).status_code == 200

    [failed] = statuses(fake_meta.pending_payloads)
    assert (failed["status"], failed["errors"][0]["code"]) == ("failed", 131009)


def test_mark_read_answers_success(fake_meta):
    body = {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.abc"}

    assert post_message(fake_meta, body).json() == {"success": True}
    assert post_message(fake_meta, {**body, "typing_indicator": {"type": "text"}}).json() == {"success": True}
    assert post_message(fake_meta, {**body, "typing_indicator": {"type": "audio"}}).json()["error"]["code"] == 131009
    assert fake_meta.sends() == []
    assert len(fake_meta.read_marks) == 2


# --- inbound helpers --------------------------------------------------------------------------------------


def test_inbound_media_is_downloadable_and_hashed_in_base64(fake_meta):
    message = fake_meta.send_inbound(
        WA_ID, {"type": "image", "image": {"mime_type": "image/jpeg", "caption": "Taj Mahal"}}, media=b"\xff\xd8jpeg"
    )

    image = message["image"]
    assert image == {
        "mime_type": "image/jpeg",
        "caption": "Taj Mahal",
        "sha256": base64.b64encode(hashlib.sha256(b"\xff\xd8jpeg").digest()).decode(),
        "id": image["id"],
    }
    info = requests.get(f"{fake_meta.base_url}/{image['id']}", headers=AUTH, timeout=5).json()
    assert requests.get(info["url"], headers=AUTH, timeout=5).content == b"\xff\xd8jpeg"


def test_the_username_variant_has_no_phone_number(fake_meta):
    message = fake_meta.send_inbound(None, text="hi", user_id="US.13491208655302741918")

    value = fake_meta.pending_payloads[0]["entry"][0]["changes"][0]["value"]
    assert value["contacts"] == [{"profile": {"name": "Test User"}, "user_id": "US.13491208655302741918"}]
    assert "from" not in message
    assert message["from_user_id"] == "US.13491208655302741918"


def test_value_errors_and_template_updates_have_the_fixtures_shapes(fake_meta):
    errors = fake_meta.queue_value_error(130429)["entry"][0]["changes"][0]["value"]
    expected = fixture("value_errors.json")["entry"][0]["changes"][0]["value"]
    assert sorted(errors) == sorted(expected)
    assert sorted(errors["errors"][0]) == sorted(expected["errors"][0])


# --- media ---------------------------------------------------------------------------------------------------


def upload(fake, content=b"\x89PNG-data", mime="image/png", part_mime=None):
    return requests.post(
        f"{fake.base_url}/{DEFAULT_PHONE_NUMBER_ID}/media",
        headers=AUTH,
        data={"messaging_product": "whatsapp", "type": mime},
        files={"file": ("a.png", content, part_mime or mime)},
        timeout=5,
    )


def test_media_urls_need_the_token_and_expire_after_five_minutes(fake_meta):
    fake_meta.clock.set(1_750_000_000)
    media_id = upload(fake_meta).json()["id"]
    info = requests.get(f"{fake_meta.base_url}/{media_id}", headers=AUTH, timeout=5).json()

    assert info == {
        "messaging_product": "whatsapp",
        "url": info["url"],
        "mime_type": "image/png",
        "sha256": hashlib.sha256(b"\x89PNG-data").hexdigest(),
        "file_size": 9,
        "id": media_id,
    }
    assert requests.get(info["url"], timeout=5).status_code == 401
    download = requests.get(info["url"], headers=AUTH, timeout=5)
    assert (download.status_code, download.content, download.headers["Content-Type"]) == (
        200,
        b"\x89PNG-data",
        "image/png",
    )
    fake_meta.clock.advance(301)
    assert requests.get(info["url"], headers=AUTH, timeout=5).status_code == 404


def test_media_upload_enforces_type_and_size(fake_meta):
    assert upload(fake_meta, mime="image/gif").json()["error"]["code"] == 131053
    assert upload(fake_meta, part_mime="image/jpeg").json()["error"]["code"] == 131053
    assert upload(fake_meta, b"x" * (500 * 1024 + 1), mime="image/webp").json()["error"]["code"] == 131053
    assert upload(fake_meta, mime="image/png").status_code == 200


def test_deleted_media_is_gone(fake_meta):
    media_id = upload(fake_meta).json()["id"]

    deleted = requests.delete(f"{fake_meta.base_url}/{media_id}", headers=AUTH, timeout=5)
    again = requests.get(f"{fake_meta.base_url}/{media_id}", headers=AUTH, timeout=5)

    assert deleted.json() == {"success": True}
    assert again.status_code == 400
    assert (again.json()["error"]["code"], again.json()["error"]["error_subcode"]) == (100, 33)


# --- templates ------------------------------------------------------------------------------------------


def test_template_paging_has_graph_cursors(fake_meta):
    for i in range(5):
        fake_meta.add_template(f"t{i}")
    url = f"{fake_meta.base_url}/{DEFAULT_WABA_ID}/message_templates"

    first = requests.get(url, params={"limit": 2, "fields": "name,status"}, headers=AUTH, timeout=5).json()
    second = requests.get(first["paging"]["next"], headers=AUTH, timeout=5).json()
    back = requests.get(second["paging"]["previous"], headers=AUTH, timeout=5).json()
    last = requests.get(
        url, params={"limit": 2, "after": second["paging"]["cursors"]["after"]}, headers=AUTH, timeout=5
    )

    assert [t["name"] for t in first["data"]] == ["t0", "t1"]
    assert set(first["data"][0]) == {"name", "status", "id"}
    assert "previous" not in first["paging"]
    assert [t["name"] for t in second["data"]] == ["t2", "t3"]
    assert [t["name"] for t in back["data"]] == ["t0", "t1"]
    assert [t["name"] for t in last.json()["data"]] == ["t4"]
    assert set(last.json()["paging"]) == {"cursors", "previous"}  # no `next` on the last page


def test_a_rejected_template_webhook_carries_the_reason(fake_meta):
    fake_meta.review_template_as(
        "abandoned_cart", "REJECTED", reason="INVALID_FORMAT", rejection_info={"reason": "r", "recommendation": "x"}
    )
    body = {
        "name": "abandoned_cart",
        "language": "en",
        "category": "marketing",
        "components": [{"type": "BODY", "text": "Hi"}],
    }

    answer = requests.post(
        f"{fake_meta.base_url}/{DEFAULT_WABA_ID}/message_templates", json=body, headers=AUTH, timeout=5
    )

    assert answer.json() == {"id": answer.json()["id"], "status": "PENDING", "category": "MARKETING"}
    [payload] = fake_meta.pending_payloads
    value = payload["entry"][0]["changes"][0]["value"]
    assert (value["event"], value["reason"], value["rejection_info"]) == (
        "REJECTED",
        "INVALID_FORMAT",
        {"reason": "r", "recommendation": "x"},
    )
    assert sorted(value) == sorted(fixture("template_status_rejected.json")["entry"][0]["changes"][0]["value"])
    assert fake_meta.templates[DEFAULT_WABA_ID][0]["status"] == "REJECTED"


def test_meta_s_flow_status_change_and_alerts_have_the_documented_shape(fake_meta):
    flow = fake_meta.add_flow(name="Booking", status="PUBLISHED")

    fake_meta.change_flow_status(flow["id"], "THROTTLED")
    for event in ("ENDPOINT_ERROR_RATE", "CLIENT_ERROR_RATE", "ENDPOINT_LATENCY", "ENDPOINT_AVAILABILITY"):
        fake_meta.flow_alert(flow["id"], event)
    fake_meta.flow_alert(flow["id"], "FLOW_VERSION_EXPIRY_WARNING")
    fake_meta.flow_alert(flow["id"], "ENDPOINT_LATENCY", alert_state="DEACTIVATED", p90_latency=600)

    payloads = fake_meta.pending_payloads
    assert fake_meta.flows[flow["id"]]["status"] == "THROTTLED"
    assert {(p["object"], p["entry"][0]["id"], p["entry"][0]["changes"][0]["field"]) for p in payloads} == {
        ("whatsapp_business_account", DEFAULT_WABA_ID, "flows")
    }
    values = [p["entry"][0]["changes"][0]["value"] for p in payloads]
    assert values[0] == {
        "event": "FLOW_STATUS_CHANGE",
        "message": "Flow Booking changed status from PUBLISHED to THROTTLED",
        "flow_id": flow["id"],
        "old_status": "PUBLISHED",
        "new_status": "THROTTLED",
    }
    files = ["endpoint_error_rate", "client_error_rate", "endpoint_latency", "endpoint_availability"]
    for value, name in zip(values[1:6], [*files, "version_expiry_warning"], strict=True):
        documented = fixture(f"flows_{name}.json")["entry"][0]["changes"][0]["value"]
        assert value == {**documented, "flow_id": flow["id"]}
    assert (values[-1]["alert_state"], values[-1]["p90_latency"]) == ("DEACTIVATED", 600)


def test_reset_forgets_everything(fake_meta):
    fake_meta.send_inbound(WA_ID, text="hi")
    post_message(fake_meta, text())
    fake_meta.fail_next(100)

    fake_meta.reset()

    assert (fake_meta.requests, fake_meta.pending, fake_meta.sent, fake_meta.last_inbound) == ([], [], {}, {})
    assert post_message(fake_meta, text()).status_code == 200


def test_a_server_starts_and_stops_in_milliseconds():
    started = time.perf_counter()
    with FakeMetaServer() as fake:
        assert post_message(fake, text()).status_code == 200
    assert time.perf_counter() - started < 0.5


def test_it_runs_standalone_and_delivers_webhooks_from_a_thread(webhook_receiver):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "tests.fakes.meta", "--port", str(port), "--webhook-url", webhook_receiver.url]
    command += ["--app-secret", "s3cret"]
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(root)})
    try:
        assert b"/v23.0" in process.stdout.readline()
        inbound = requests.post(f"http://127.0.0.1:{port}/_fake/inbound", json={"from": WA_ID, "text": "hi"}, timeout=5)
        deadline = time.monotonic() + 5
        while not webhook_receiver.requests and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        process.terminate()
        process.wait(5)

    [request] = webhook_receiver.requests
    assert request.headers["X-Hub-Signature-256"] == meta_signature(request.body, "s3cret")
    assert json.loads(request.body)["entry"][0]["changes"][0]["value"]["messages"] == [inbound.json()]


class _Ok:
    status_code = 200


def test_an_interrupted_upload_resumes_where_it_stands(fake_meta):
    base = fake_meta.base_url
    session = requests.post(
        f"{base}/{fake_meta.app_id}/uploads",
        params={"file_name": "a.pdf", "file_length": 6, "file_type": "application/pdf"},
        headers={"Authorization": "Bearer t"},
        timeout=5,
    ).json()["id"]
    oauth = {"Authorization": "OAuth t"}

    first = requests.post(f"{base}/{session}", data=b"abc", headers={**oauth, "file_offset": "0"}, timeout=5).json()
    where = requests.get(f"{base}/{session}", headers=oauth, timeout=5).json()
    wrong = requests.post(f"{base}/{session}", data=b"def", headers={**oauth, "file_offset": "0"}, timeout=5)
    done = requests.post(f"{base}/{session}", data=b"def", headers={**oauth, "file_offset": "3"}, timeout=5).json()

    assert first == where == {"id": session, "file_offset": 3}
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (400, 100)
    assert fake_meta.uploaded(done["h"]).content == b"abcdef"


def test_a_scripted_failure_can_let_requests_through_first(fake_meta):
    fake_meta.add_template("a")
    fake_meta.fail_next(80007, endpoint="templates", skip=1)
    url = f"{fake_meta.base_url}/{DEFAULT_WABA_ID}/message_templates"

    statuses = [requests.get(url, headers={"Authorization": "Bearer t"}, timeout=5).status_code for _ in range(3)]

    assert statuses == [200, 400, 200]


# --- WhatsApp Flows ------------------------------------------------------------------------------------------------


def flow_message(flow_id: str, *, mode: str | None = None, screen: str = "FORM") -> dict:
    parameters = {
        "flow_message_version": "3",
        "flow_token": "t",
        "flow_id": flow_id,
        "flow_cta": "Open",
        "flow_action": "navigate",
        "flow_action_payload": {"screen": screen},
    }
    if mode:
        parameters["mode"] = mode
    interactive = {"type": "flow", "body": {"text": "Hi"}, "action": {"name": "flow", "parameters": parameters}}
    return {"messaging_product": "whatsapp", "to": TO, "type": "interactive", "interactive": interactive}


def test_a_flow_s_lifecycle_follows_meta_s_rules(fake_meta):
    url = f"{fake_meta.base_url}/{DEFAULT_WABA_ID}/flows"
    created = requests.post(url, json={"name": "Form", "categories": ["SURVEY"]}, headers=AUTH, timeout=5).json()
    flow_url = f"{fake_meta.base_url}/{created['id']}"
    assert created == {"id": created["id"], "success": True}

    refused = requests.post(f"{flow_url}/publish", headers=AUTH, timeout=5)  # no Flow JSON yet
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error.pop("fbtrace_id")
    assert error == {
        "message": "Publishing Flow with validation errors",
        "type": "OAuthException",
        "code": 139002,
        "is_transient": False,
        "error_user_title": "Flow publishing failed",
        "error_user_msg": "Fix the Flow JSON's validation errors before publishing.",
    }

    body = json.dumps(
        {"version": "7.2", "screens": [{"id": "FORM", "layout": {"type": "SingleColumnLayout", "children": []}}]}
    )
    files = {"file": ("flow.json", body.encode(), "application/json")}
    uploaded = requests.post(
        f"{flow_url}/assets",
        data={"name": "flow.json", "asset_type": "FLOW_JSON"},
        files=files,
        headers=AUTH,
        timeout=5,
    )
    assert uploaded.json() == {"success": True, "validation_errors": []}
    assert requests.post(f"{flow_url}/publish", headers=AUTH, timeout=5).json() == {"success": True}

    deleted = requests.delete(flow_url, headers=AUTH, timeout=5)
    assert (deleted.status_code, deleted.json()["error"]["code"]) == (400, 139004)
    assert deleted.json()["error"]["message"] == "Can't delete published Flow"
    changed = requests.post(flow_url, json={"name": "Other"}, headers=AUTH, timeout=5)
    assert (changed.json()["error"]["code"], changed.json()["error"]["message"]) == (139001, "Flow can't be updated")
    republished = requests.post(f"{flow_url}/publish", headers=AUTH, timeout=5).json()["error"]
    assert (republished["code"], republished["message"]) == (139002, "Publishing Flow in invalid state")
    listed = requests.get(url, params={"fields": "id,status"}, headers=AUTH, timeout=5).json()
    assert listed["data"] == [{"id": created["id"], "status": "PUBLISHED"}]
    assert requests.post(f"{flow_url}/deprecate", headers=AUTH, timeout=5).json() == {"success": True}
    again = requests.post(f"{flow_url}/deprecate", headers=AUTH, timeout=5)
    assert (again.json()["error"]["code"], again.json()["error"]["message"]) == (139003, "Flow is already deprecated")


def test_flow_names_are_unique_per_account_with_meta_s_code_100(fake_meta):
    url = f"{fake_meta.base_url}/{DEFAULT_WABA_ID}/flows"
    first = requests.post(url, json={"name": "Form", "categories": ["SURVEY"]}, headers=AUTH, timeout=5).json()
    draft = requests.post(f"{fake_meta.base_url}/{first['id']}/deprecate", headers=AUTH, timeout=5).json()["error"]
    assert (draft["code"], draft["message"]) == (139003, "Can't deprecate unpublished flow")

    taken = requests.post(url, json={"name": "Form", "categories": ["SURVEY"]}, headers=AUTH, timeout=5)

    assert taken.status_code == 400
    error = taken.json()["error"]
    assert (error["code"], error["error_subcode"], error["message"], error["error_user_title"]) == (
        100,
        4016019,
        "Invalid parameter",
        "Flow name is not unique",
    )
    unnamed = requests.post(url, json={"categories": ["SURVEY"]}, headers=AUTH, timeout=5).json()["error"]
    assert (unnamed["code"], unnamed["message"]) == (100, "(#100) Invalid parameter")  # Graph's generic code


def test_a_flow_made_with_publish_and_valid_json_is_published_and_a_clone_copies_its_json(fake_meta):
    url = f"{fake_meta.base_url}/{DEFAULT_WABA_ID}/flows"
    flow_json = json.dumps(
        {"version": "7.2", "screens": [{"id": "FORM", "layout": {"type": "SingleColumnLayout", "children": []}}]}
    )
    body = {"name": "Live", "categories": ["OTHER"], "flow_json": flow_json, "publish": True}
    live = requests.post(url, json=body, headers=AUTH, timeout=5).json()
    assert live == {"id": live["id"], "success": True, "validation_errors": []}
    assert fake_meta.flows[live["id"]]["status"] == "PUBLISHED"

    clone = requests.post(
        url, json={"name": "Copy", "categories": ["OTHER"], "clone_flow_id": live["id"]}, headers=AUTH, timeout=5
    ).json()
    assert (fake_meta.flows[clone["id"]]["status"], fake_meta.flows[clone["id"]]["flow_json"]) == ("DRAFT", flow_json)
    old = flow_json.replace('"7.2"', '"5.0"')  # a version flows are still sent with, no longer published with
    draft = requests.post(url, json={**body, "name": "Old", "flow_json": old}, headers=AUTH, timeout=5).json()
    assert (draft["validation_errors"], fake_meta.flows[draft["id"]]["status"]) == ([], "DRAFT")
    refused = requests.post(f"{fake_meta.base_url}/{draft['id']}/publish", headers=AUTH, timeout=5).json()["error"]
    assert refused["code"] == 139002
    assert refused["message"] == "Versions in Flow JSON file are not available for publishing"
    missing = requests.post(
        url, json={"name": "X", "categories": ["OTHER"], "clone_flow_id": "404"}, headers=AUTH, timeout=5
    ).json()["error"]
    assert (missing["code"], missing["error_user_title"]) == (100, "Flow with specified ID does not exist")


def test_only_a_published_flow_is_sent_in_published_mode(fake_meta):
    fake_meta.open_window(WA_ID)
    draft = fake_meta.add_flow(status="DRAFT")
    refused = post_message(fake_meta, flow_message(draft["id"]))
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, 131009)
    assert post_message(fake_meta, flow_message(draft["id"], mode="draft")).status_code == 200
    published = fake_meta.add_flow(name="live", status="PUBLISHED")
    assert post_message(fake_meta, flow_message(published["id"])).status_code == 200
