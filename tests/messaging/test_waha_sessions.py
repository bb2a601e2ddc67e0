"""WAHA sessions of numbers, against the fake WAHA: creation, start, QR, pairing code, status, stop, logout, errors."""

import pytest

from accounts.models import AuditLog
from messaging.models import WhatsAppNumber
from tests.fakes.waha import QR_PNG
from tests.messaging.factories import WhatsAppNumberFactory

LIST_URL = "/api/v1/numbers"
EVENTS = ["message", "message.ack", "session.status"]


def url(number, path: str) -> str:
    return f"/api/v1/numbers/{number.pk}/{path}"


def waha_number(org, fake_waha, **fields) -> WhatsAppNumber:
    """A WAHA number on the hub's WAHA server (the fake) whose session WAHA does not know yet."""
    defaults = {
        "provider": "waha",
        "phone_number": "",
        "phone_number_id": "",
        "waba_id": "",
        "access_token": "",
        "app_secret": "",
        "verify_token": "",
        "waha_session": f"org{org.pk}-web",
        "waha_api_key": fake_waha.api_key,
        "waha_webhook_hmac_key": "hmac-key-of-the-number",
    }
    return WhatsAppNumberFactory(organization=org, **{**defaults, **fields})


def session_requests(fake_waha) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in fake_waha.find_requests()]


def test_a_session_goes_from_creation_to_working(
    org, admin_client, fake_waha, settings, django_capture_on_commit_callbacks
):
    settings.PUBLIC_BASE_URL = "https://hub.example.com"
    with django_capture_on_commit_callbacks(execute=True):
        created = admin_client.post(
            LIST_URL, {"display_name": "Web", "provider": "waha", "waha_api_key": fake_waha.api_key}, format="json"
        )
    number = WhatsAppNumber.objects.get()
    name = number.waha_session

    assert created.status_code == 201
    assert name.startswith(f"org{org.pk}-")
    assert fake_waha.session(name).status == "STOPPED"
    assert fake_waha.session(name).config == {
        "webhooks": [
            {
                "url": f"https://hub.example.com/webhooks/waha/{org.pk}/",
                "events": EVENTS,
                "hmac": {"key": number.waha_webhook_hmac_key},
            }
        ]
    }
    assert len(number.waha_webhook_hmac_key) >= 40
    assert (number.status, number.session_status) == ("pending", "STOPPED")

    started = admin_client.post(url(number, "session/start"))
    assert (started.status_code, started.json()) == (200, {"name": name, "status": "STARTING", "me": None})

    scanning = admin_client.get(url(number, "session"))
    assert scanning.json() == {"name": name, "status": "SCAN_QR_CODE", "me": None}
    number.refresh_from_db()
    assert (number.status, number.session_status) == ("pending", "SCAN_QR_CODE")

    qr = admin_client.get(url(number, "qr"), HTTP_ACCEPT="image/png")
    assert (qr.status_code, qr["Content-Type"], qr.content) == (200, "image/png", QR_PNG)

    code = admin_client.post(url(number, "pairing-code"), {"phone_number": "+966 50 123 4567"}, format="json")
    assert (code.status_code, code.json()) == (200, {"code": "ABCD-ABCD"})
    assert fake_waha.session(name).pairing_phone == "966501234567"

    fake_waha.enter_pairing_code(name, phone="966501234567", push_name="Acme Sales")
    working = admin_client.get(url(number, "session"))
    assert working.json() == {
        "name": name,
        "status": "WORKING",
        "me": {"id": "966501234567@c.us", "pushName": "Acme Sales"},
    }
    number.refresh_from_db()
    assert (number.status, number.session_status, number.phone_number) == ("active", "WORKING", "+966501234567")
    assert all(r.headers["X-Api-Key"] == fake_waha.api_key for r in fake_waha.find_requests())
    assert list(AuditLog.objects.order_by("id").values_list("action", flat=True)) == [
        "number.create",
        "number.session_start",
        "number.session_pairing_code",
    ]


def test_start_creates_a_missing_session_and_is_idempotent(org, admin_client, fake_waha, settings):
    settings.PUBLIC_BASE_URL = "https://hub.example.com"
    number = waha_number(org, fake_waha)

    first = admin_client.post(url(number, "session/start"))
    second = admin_client.post(url(number, "session/start"))

    assert (first.json()["status"], second.json()["status"]) == ("STARTING", "SCAN_QR_CODE")
    assert fake_waha.find_requests(method="POST", path="/api/sessions")[0].json == {
        "name": number.waha_session,
        "start": True,
        "config": {
            "webhooks": [
                {
                    "url": f"https://hub.example.com/webhooks/waha/{org.pk}/",
                    "events": EVENTS,
                    "hmac": {"key": "hmac-key-of-the-number"},
                }
            ]
        },
    }
    assert session_requests(fake_waha) == [
        ("GET", f"/api/sessions/{number.waha_session}"),
        ("POST", "/api/sessions"),
        ("GET", f"/api/sessions/{number.waha_session}"),
    ]


def test_start_starts_a_stopped_session_and_stop_and_logout_follow_waha(org, admin_client, fake_waha):
    number = waha_number(org, fake_waha)
    fake_waha.add_session(number.waha_session)  # linked and WORKING

    stopped = admin_client.post(url(number, "session/stop"))
    restarted = admin_client.post(url(number, "session/start"))
    logged_out = admin_client.post(url(number, "session/logout"))

    assert [r.json()["status"] for r in (stopped, restarted, logged_out)] == ["STOPPED", "STARTING", "STARTING"]
    assert fake_waha.session(number.waha_session).status == "SCAN_QR_CODE"
    assert fake_waha.session(number.waha_session).authenticated is False
    assert admin_client.get(url(number, "session")).json()["status"] == "SCAN_QR_CODE"
    assert list(AuditLog.objects.order_by("id").values_list("action", flat=True)) == [
        "number.session_stop",
        "number.session_start",
        "number.session_logout",
    ]


def test_a_session_waha_does_not_know_is_stopped(org, admin_client, fake_waha):
    number = waha_number(org, fake_waha)

    response = admin_client.get(url(number, "session"))

    assert response.json() == {"name": number.waha_session, "status": "STOPPED", "me": None}


def test_the_qr_is_a_409_unless_the_session_waits_for_a_scan(org, admin_client, fake_waha):
    number = waha_number(org, fake_waha)
    fake_waha.add_session(number.waha_session)

    response = admin_client.get(url(number, "qr"), HTTP_ACCEPT="image/png")

    assert response.status_code == 409
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "detail": "The WAHA session is WORKING; this needs it to be SCAN_QR_CODE.",
        "code": "waha_session_state",
    }
    number.refresh_from_db()
    assert (number.session_status, number.status) == ("WORKING", "active")


def test_a_pairing_code_needs_a_session_waiting_for_a_scan_and_a_valid_phone(org, admin_client, fake_waha):
    number = waha_number(org, fake_waha)
    fake_waha.add_session(number.waha_session)

    working = admin_client.post(url(number, "pairing-code"), {"phone_number": "+966501234567"}, format="json")
    invalid = admin_client.post(url(number, "pairing-code"), {"phone_number": "12"}, format="json")

    assert (working.status_code, working.json()["detail"]) == (
        409,
        "The WAHA session is WORKING; this needs it to be SCAN_QR_CODE.",
    )
    assert (invalid.status_code, invalid.json()["errors"]) == (
        400,
        {"phone_number": ["'12' is not a phone number."]},
    )


def test_stopping_a_session_waha_does_not_know_is_a_409(org, admin_client, fake_waha):
    number = waha_number(org, fake_waha)

    response = admin_client.post(url(number, "session/stop"))

    assert response.status_code == 409
    assert response.json() == {
        "detail": f"WAHA has no session '{number.waha_session}': start the session first.",
        "code": "waha_session_missing",
    }
    assert not AuditLog.objects.exists()


def test_waha_down_is_a_502_with_a_detail(org, admin_client, fake_waha):
    number = waha_number(org, fake_waha)
    fake_waha.stop()

    responses = [
        admin_client.get(url(number, "session")),
        admin_client.post(url(number, "session/start")),
        admin_client.get(url(number, "qr")),
    ]

    assert [r.status_code for r in responses] == [502, 502, 502]
    assert responses[0].json() == {
        "detail": "WAHA is unreachable (connection error): check that it runs and that the number's WAHA URL is right.",
        "code": "waha_unreachable",
    }
    assert fake_waha.url not in responses[0].content.decode()


def test_a_wrong_api_key_is_a_502_that_names_the_setting(org, admin_client, fake_waha):
    number = waha_number(org, fake_waha, waha_api_key="wrong-key")

    response = admin_client.post(url(number, "session/start"))

    assert response.status_code == 502
    assert response.json()["detail"] == "WAHA refused the API key: check the number's waha_api_key."


def test_only_waha_numbers_have_a_session(org, admin_client, fake_waha):
    number = WhatsAppNumberFactory(organization=org, display_name="Cloud line")

    response = admin_client.post(url(number, "session/start"))

    assert response.status_code == 400
    assert response.json()["detail"] == "Cloud line is a cloud number: only WAHA numbers have a session."
    assert fake_waha.find_requests() == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "session"),
        ("post", "session/start"),
        ("post", "session/stop"),
        ("post", "session/logout"),
        ("get", "qr"),
        ("post", "pairing-code"),
    ],
)
def test_sessions_are_for_admins_of_the_numbers_organization(
    org, other_org, agent_client, outsider_client, fake_waha, method, path
):
    number = waha_number(org, fake_waha)
    body = {"phone_number": "+966501234567"}

    by_agent = getattr(agent_client, method)(url(number, path), body, format="json")
    by_outsider = getattr(outsider_client, method)(url(number, path), body, format="json")

    assert (by_agent.status_code, by_outsider.status_code) == (403, 404)
    assert fake_waha.find_requests() == []


def test_a_session_on_the_numbers_own_waha_server_keeps_its_name(org, admin_client, fake_waha, settings):
    settings.WAHA_URL = "http://127.0.0.1:9"  # the hub's own server is elsewhere
    response = admin_client.post(
        LIST_URL,
        {
            "display_name": "Own server",
            "provider": "waha",
            "waha_session": "default",
            "waha_base_url": fake_waha.url,
            "waha_api_key": fake_waha.api_key,
        },
        format="json",
    )
    number = WhatsAppNumber.objects.get(pk=response.json()["id"])

    started = admin_client.post(url(number, "session/start"))

    assert number.waha_session == "default"
    assert started.json()["status"] == "STARTING"
    assert fake_waha.session("default").status == "SCAN_QR_CODE"


def test_a_session_name_on_the_hubs_server_always_carries_the_organization(org, admin_client):
    response = admin_client.post(
        LIST_URL, {"display_name": "Web", "provider": "waha", "waha_session": "default"}, format="json"
    )

    assert response.json()["waha_session"] == f"org{org.pk}-default"


def test_moving_a_number_to_the_hubs_server_prefixes_its_session(org, admin_client, fake_waha):
    number = waha_number(org, fake_waha, waha_session="default", waha_base_url="http://waha.example.com:3000")

    response = admin_client.patch(f"{LIST_URL}/{number.pk}", {"waha_base_url": ""}, format="json")

    assert response.json()["waha_session"] == f"org{org.pk}-default"
    number.refresh_from_db()
    assert (number.waha_session, number.waha_base_url) == (f"org{org.pk}-default", "")


def test_deleting_a_waha_number_deletes_its_session_on_waha(
    org, admin_client, fake_waha, django_capture_on_commit_callbacks
):
    number = waha_number(org, fake_waha)
    fake_waha.add_session(number.waha_session)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.delete(f"{LIST_URL}/{number.pk}")

    assert response.status_code == 204
    assert number.waha_session not in fake_waha.sessions
    assert fake_waha.find_requests(method="DELETE") != []


def test_a_waha_number_is_created_even_when_waha_is_down(
    org, admin_client, fake_waha, django_capture_on_commit_callbacks
):
    fake_waha.stop()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(LIST_URL, {"display_name": "Web", "provider": "waha"}, format="json")

    assert response.status_code == 201
    assert WhatsAppNumber.objects.get().session_status == "STOPPED"
