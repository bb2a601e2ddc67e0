"""The fake WAHA speaks WAHA's formats: API key, sessions state machine, QR, sends, 422/404, signed events."""

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

from tests.fakes.server import waha_hmac
from tests.fakes.waha import QR_PNG, FakeWahaServer

KEY = {"X-Api-Key": "test-waha-key"}
CHAT = "16505551234@c.us"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "waha"


def api(fake: FakeWahaServer, method: str, path: str, **kwargs) -> requests.Response:
    headers = {**KEY, **kwargs.pop("headers", {})}
    return requests.request(method, fake.url + path, headers=headers, timeout=5, **kwargs)


def events(fake: FakeWahaServer, name: str | None = None) -> list[dict]:
    return [w.payload for w in fake.pending if name is None or w.payload["event"] == name]


def test_the_hmac_matches_wahas_test_vector():
    body = b'{"event":"message","session":"default","engine":"WEBJS"}'

    assert waha_hmac(body, "my-secret-key") == (
        "208f8a55dde9e05519e898b10b89bf0d0b3b0fdf11fdbf09b6b90476301b98d8"
        "097c462b2b17a6ce93b6b47a136cf2e78a33a63f6752c2c1631777076153fa89"
    )


def test_a_missing_or_wrong_key_is_401(fake_waha):
    for headers in ({}, {"X-Api-Key": "wrong"}):
        response = requests.get(fake_waha.url + "/api/sessions", headers=headers, timeout=5)
        assert (response.status_code, response.json()) == (401, {"message": "Unauthorized", "statusCode": 401})
    by_query = requests.get(fake_waha.url + "/api/sessions", params={"x-api-key": "test-waha-key"}, timeout=5)
    assert (by_query.status_code, by_query.json()) == (200, [])


def test_the_session_state_machine_emits_session_status_events(fake_waha):
    fake_waha.clock.set(1_700_000_000)

    created = api(fake_waha, "POST", "/api/sessions", json={"name": "default"})

    assert created.status_code == 201
    assert created.json() == {
        "name": "default",
        "status": "STARTING",
        "config": None,
        "me": None,
        "engine": {"engine": "WEBJS"},
    }
    assert [e["payload"]["status"] for e in events(fake_waha)] == ["STARTING", "SCAN_QR_CODE"]
    fake_waha.scan_qr("default")
    working = events(fake_waha)[-1]
    assert {k: v for k, v in working.items() if k != "id"} == {
        "timestamp": 1_700_000_000_000,
        "event": "session.status",
        "session": "default",
        "metadata": {},
        "me": {"id": "79111111111@c.us", "pushName": "WAHA"},
        "payload": {
            "status": "WORKING",
            "statuses": [
                {"status": "STARTING", "timestamp": 1_700_000_000_000},
                {"status": "SCAN_QR_CODE", "timestamp": 1_700_000_000_000},
                {"status": "WORKING", "timestamp": 1_700_000_000_000},
            ],
            "data": None,
        },
        "engine": "WEBJS",
        "environment": {"version": "2024.10.8", "engine": "WEBJS", "tier": "CORE", "browser": None},
    }
    assert working["id"].startswith("evt_") and len(working["id"]) == 30
    assert api(fake_waha, "GET", "/api/sessions/default").json()["status"] == "WORKING"
    assert api(fake_waha, "POST", "/api/sessions/default/stop").json()["status"] == "STOPPED"
    assert api(fake_waha, "GET", "/api/sessions").json() == []
    assert [s["name"] for s in api(fake_waha, "GET", "/api/sessions", params={"all": "true"}).json()] == ["default"]
    fake_waha.fail_session("default")
    assert api(fake_waha, "GET", "/api/sessions/default").json()["status"] == "FAILED"
    assert api(fake_waha, "DELETE", "/api/sessions/default").status_code == 200
    assert api(fake_waha, "DELETE", "/api/sessions/default").status_code == 200  # idempotent


def test_creating_an_existing_session_is_422(fake_waha):
    fake_waha.add_session("default")

    response = api(fake_waha, "POST", "/api/sessions", json={"name": "default"})

    assert response.status_code == 422
    assert response.json()["error"] == "Unprocessable Entity"


def test_put_replaces_the_whole_config_and_restarts_a_session_unless_stopped(fake_waha):
    fake_waha.add_session("default", config={"proxy": {"server": "proxy.example.com:3128"}, "webhooks": []})
    fake_waha.add_session("idle", status="STOPPED")
    config = {"webhooks": [{"url": "http://127.0.0.1:1/hook", "events": ["message"], "hmac": None}]}

    running = api(fake_waha, "PUT", "/api/sessions/default", json={"config": config})
    stopped = api(fake_waha, "PUT", "/api/sessions/idle", json={"config": config})
    unknown = api(fake_waha, "PUT", "/api/sessions/ghost", json={"config": config})

    assert (running.status_code, running.json()["status"], running.json()["config"]) == (200, "STARTING", config)
    assert fake_waha.session("default").config == config  # the proxy is gone: a PUT is not a merge
    assert fake_waha.session("default").status == "WORKING"  # still paired: back without a QR
    assert [e["session"] for e in events(fake_waha, "session.status")] == ["default", "default"]
    assert (stopped.status_code, stopped.json()["status"], fake_waha.session("idle").config) == (200, "STOPPED", config)
    assert (unknown.status_code, unknown.json()["error"]) == (404, "Not Found")
    assert "ghost" not in fake_waha.sessions


def test_fail_next_answers_wahas_error_bodies_then_recovers(fake_waha):
    fake_waha.add_session("default")
    fake_waha.fail_next(500, method="PUT")
    fake_waha.fail_next(404, times=2)

    unauthenticated = requests.get(fake_waha.url + "/api/sessions/default", timeout=5)
    put = api(fake_waha, "PUT", "/api/sessions/default", json={"config": {}})
    gets = [api(fake_waha, "GET", "/api/sessions/default") for _ in range(3)]

    assert unauthenticated.status_code == 401  # auth first: it used no scripted failure
    assert put.status_code == 500
    assert {key: put.json()[key] for key in ("statusCode", "exception")} == {
        "statusCode": 500,
        "exception": {"message": "Scripted failure of the fake WAHA", "name": "Error"},
    }
    assert fake_waha.session("default").config is None  # the failed PUT changed nothing
    assert [g.status_code for g in gets] == [404, 404, 200]
    assert gets[0].json() == {"statusCode": 404, "message": "Not Found", "error": "Not Found"}


def test_the_qr_comes_as_png_base64_json_or_raw(fake_waha):
    fake_waha.add_session("default", status="SCAN_QR_CODE")

    png = api(fake_waha, "GET", "/api/default/auth/qr")
    as_json = api(fake_waha, "GET", "/api/default/auth/qr", headers={"Accept": "application/json"})
    raw = api(fake_waha, "GET", "/api/default/auth/qr", params={"format": "raw"})

    assert (png.headers["Content-Type"], png.content) == ("image/png", QR_PNG)
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert as_json.json() == {"mimetype": "image/png", "data": base64.b64encode(QR_PNG).decode()}
    assert raw.json()["value"] == fake_waha.session("default").qr_value
    assert fake_waha.rotate_qr("default") != raw.json()["value"]


def test_the_pairing_code(fake_waha):
    fake_waha.add_session("default", status="SCAN_QR_CODE")

    code = api(fake_waha, "POST", "/api/default/auth/request-code", json={"phoneNumber": "12132132130"})
    missing = api(fake_waha, "POST", "/api/default/auth/request-code", json={})

    assert (code.status_code, code.json()) == (201, {"code": "ABCD-ABCD"})
    assert missing.json() == {"statusCode": 400, "message": ["phoneNumber must be a string"], "error": "Bad Request"}
    fake_waha.enter_pairing_code("default")
    assert fake_waha.session("default").status == "WORKING"


def test_sending_needs_a_working_session(fake_waha):
    fake_waha.add_session("default", status="SCAN_QR_CODE")
    body = {"session": "default", "chatId": CHAT, "text": "Hi there!"}

    not_working = api(fake_waha, "POST", "/api/sendText", json=body)
    unknown = api(fake_waha, "POST", "/api/sendText", json={**body, "session": "ghost"})

    assert (not_working.status_code, not_working.json()) == (
        422,
        {
            "error": "Session status is not as expected. Try again later or restart the session",
            "session": "default",
            "status": "SCAN_QR_CODE",
            "expected": ["WORKING"],
        },
    )
    assert unknown.status_code == 404
    assert unknown.json()["statusCode"] == 404
    assert unknown.json()["error"] == "Not Found"
    assert unknown.json()["message"].startswith("We didn't find a session with name 'ghost'")


@pytest.mark.parametrize("engine", ["WEBJS", "NOWEB"])
def test_send_text_answers_201_with_the_engines_body_and_queues_acks(fake_waha, engine):
    fake_waha.engine = engine
    fake_waha.add_session("default")

    response = api(fake_waha, "POST", "/api/sendText", json={"session": "default", "chatId": CHAT, "text": "Hi"})

    assert response.status_code == 201
    [message_id] = fake_waha.sent
    raw_id = message_id.rsplit("_", 1)[1]
    if engine == "WEBJS":
        assert response.json()["id"] == {"fromMe": True, "remote": CHAT, "id": raw_id, "_serialized": message_id}
    else:
        assert response.json()["key"] == {"remoteJid": "16505551234@s.whatsapp.net", "fromMe": True, "id": raw_id}
        assert response.json()["status"] == "PENDING"
    acks = [e["payload"] for e in events(fake_waha, "message.ack")]
    assert acks == [
        {"id": message_id, "from": CHAT, "to": CHAT, "participant": None, "fromMe": True, "ack": n, "ackName": name}
        for n, name in ((1, "SERVER"), (2, "DEVICE"), (3, "READ"))
    ]


def test_the_other_send_endpoints(fake_waha):
    fake_waha.add_session("default")
    file = {"mimetype": "image/jpeg", "url": "https://example.com/a.jpg", "filename": "a.jpg"}

    for path, body in [
        ("/api/sendImage", {"chatId": CHAT, "file": file, "caption": "A"}),
        ("/api/sendFile", {"chatId": CHAT, "file": file}),
        ("/api/sendVoice", {"chatId": CHAT, "file": {"mimetype": "audio/ogg", "url": "https://example.com/v.ogg"}}),
        ("/api/sendVideo", {"chatId": CHAT, "file": {"mimetype": "video/mp4", "data": "AAAA"}}),
        ("/api/sendLocation", {"chatId": CHAT, "latitude": 1.5, "longitude": 2.5, "title": "Here"}),
    ]:
        assert api(fake_waha, "POST", path, json={"session": "default", **body}).status_code == 201
    seen = api(fake_waha, "POST", "/api/sendSeen", json={"session": "default", "chatId": CHAT})
    reaction = api(fake_waha, "PUT", "/api/reaction", json={"session": "default", "messageId": "x", "reaction": "👍"})
    invalid = api(fake_waha, "POST", "/api/sendImage", json={"session": "default", "chatId": CHAT})

    assert (seen.status_code, reaction.status_code) == (201, 200)
    assert (invalid.status_code, invalid.json()["message"]) == (400, ["file must have url or data"])
    assert len(fake_waha.sent) == 5
    assert [b.get("caption") for b in fake_waha.sends("sendImage")] == ["A", None]  # every request received


def test_events_are_signed_and_go_to_session_and_global_webhooks(fake_waha, webhook_receiver):
    fake_waha.add_session(
        "default",
        config={"webhooks": [{"url": webhook_receiver.url + "/session", "events": ["message"], "hmac": {"key": "k1"}}]},
    )
    fake_waha.webhook_url = webhook_receiver.url + "/global"
    fake_waha.hmac_key = "k2"

    payload = fake_waha.send_inbound("16505551234", "Olá", push_name="Zé")
    fake_waha.deliver_webhooks()

    by_path = {r.path: r for r in webhook_receiver.requests}
    assert sorted(by_path) == ["/global", "/session"]
    for path, key in (("/session", "k1"), ("/global", "k2")):
        request = by_path[path]
        assert request.headers["X-Webhook-Hmac"] == hmac.new(key.encode(), request.body, hashlib.sha512).hexdigest()
        assert request.headers["X-Webhook-Hmac-Algorithm"] == "sha512"
        assert request.headers["X-Webhook-Request-Id"]
        assert abs(int(request.headers["X-Webhook-Timestamp"]) - time.time() * 1000) < 60_000
        assert request.headers["User-Agent"] == "WAHA/2024.10.8"
        assert "Olá".encode() in request.body  # Node's JSON.stringify keeps non-ASCII as is
        assert json.loads(request.body)["payload"] == payload
    assert payload["from"] == CHAT
    assert payload["fromMe"] is False
    assert payload["id"].startswith(f"false_{CHAT}_")


def test_no_hmac_header_without_a_key(fake_waha, webhook_receiver):
    fake_waha.add_session("default")
    fake_waha.webhook_url = webhook_receiver.url

    fake_waha.send_inbound("16505551234", "hi")
    fake_waha.deliver_webhooks()

    assert "X-Webhook-Hmac" not in webhook_receiver.requests[0].headers


def test_inbound_media_is_served_with_the_api_key(fake_waha):
    fake_waha.add_session("default")

    payload = fake_waha.send_inbound("16505551234", "photo", media=b"\xff\xd8jpeg", mimetype="image/jpeg")

    assert payload["hasMedia"] is True
    assert payload["media"]["mimetype"] == "image/jpeg"
    url = payload["media"]["url"]
    assert url.startswith(fake_waha.url + "/api/files/default/")
    assert requests.get(url, timeout=5).status_code == 401
    assert requests.get(url, headers=KEY, timeout=5).content == b"\xff\xd8jpeg"


def test_emitted_events_have_the_fixtures_shapes(fake_waha):
    fake_waha.add_session("default")
    fake_waha.send_inbound("16505551234", "hi")
    api(fake_waha, "POST", "/api/sendText", json={"session": "default", "chatId": CHAT, "text": "Hi"})
    message, ack = events(fake_waha, "message")[0], events(fake_waha, "message.ack")[0]
    fixture_message = json.loads((FIXTURES / "message.json").read_text())
    fixture_ack = json.loads((FIXTURES / "message_ack.json").read_text())

    assert sorted(message) == sorted(fixture_message)
    assert sorted(message["payload"]) == sorted(fixture_message["payload"])
    assert sorted(ack["payload"]) == sorted(fixture_ack["payload"])


def test_it_runs_standalone(webhook_receiver):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    root = Path(__file__).resolve().parents[2]
    command = [sys.executable, "-m", "tests.fakes.waha", "--port", str(port), "--working-session", "default"]
    command += ["--webhook-url", webhook_receiver.url, "--hmac-key", "h"]
    process = subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(root)})
    try:
        assert b"Fake WAHA" in process.stdout.readline()
        sent = requests.post(
            f"http://127.0.0.1:{port}/api/sendText",
            json={"session": "default", "chatId": CHAT, "text": "hi"},
            headers=KEY,
            timeout=5,
        )
        deadline = time.monotonic() + 5
        while len(webhook_receiver.requests) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        process.terminate()
        process.wait(5)

    assert sent.status_code == 201
    acks = [json.loads(r.body)["payload"]["ack"] for r in webhook_receiver.requests]
    assert acks == [1, 2, 3]
    assert all(r.headers["X-Webhook-Hmac"] == waha_hmac(r.body, "h") for r in webhook_receiver.requests)
