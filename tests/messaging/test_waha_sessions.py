"""WAHA sessions of numbers, against the fake WAHA: creation, start, QR, pairing code, status, stop, logout, errors."""

import pytest

from accounts.models import AuditLog
from messaging.models import WhatsAppNumber
from messaging.services.retries import MAX_ATTEMPTS
from messaging.tasks.numbers import waha_session_sync
from tests.fakes.waha import QR_PNG
from tests.messaging.factories import WhatsAppNumberFactory

LIST_URL = "/api/v1/numbers"
EVENTS = ["message", "message.ack", "session.status"]
UNREACHABLE = "WAHA is unreachable (connection error): check that it runs and that the number's WAHA URL is right."


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
    assert responses[0].json() == {"detail": UNREACHABLE, "code": "waha_unreachable"}
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
    body = {"phone_number": "+966501234567"} if method == "post" else None  # a GET would send it as a query

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


# --- the hub's WAHA API key --------------------------------------------------------------------------------


def test_numbers_without_their_own_key_use_the_hubs_waha_api_key(
    org, admin_client, fake_waha, settings, django_capture_on_commit_callbacks
):
    settings.WAHA_API_KEY = fake_waha.api_key
    with django_capture_on_commit_callbacks(execute=True):
        created = admin_client.post(LIST_URL, {"display_name": "Web", "provider": "waha"}, format="json")
    number = WhatsAppNumber.objects.get()

    started = admin_client.post(url(number, "session/start"))

    assert (created.status_code, created.json()["waha_api_key"]) == (201, None)
    assert (started.status_code, started.json()["status"]) == (200, "STARTING")
    assert fake_waha.session(number.waha_session).status == "SCAN_QR_CODE"
    assert {r.headers.get("X-Api-Key") for r in fake_waha.find_requests()} == {fake_waha.api_key}


def test_a_refused_hub_key_points_at_the_setting(org, admin_client, fake_waha, settings):
    settings.WAHA_API_KEY = "wrong-key"
    number = waha_number(org, fake_waha, waha_api_key="")

    response = admin_client.post(url(number, "session/start"))

    assert (response.status_code, response.json()) == (
        502,
        {
            "detail": "WAHA refused the API key: check the hub's WAHA_API_KEY, or set the number's waha_api_key.",
            "code": "waha_unauthorized",
        },
    )


# --- pushing the session config ----------------------------------------------------------------------------


def hub_webhook(org, hmac_key: str) -> dict:
    return {"url": f"https://hub.example.com/webhooks/waha/{org.pk}/", "events": EVENTS, "hmac": {"key": hmac_key}}


def detail_url(number) -> str:
    return f"{LIST_URL}/{number.pk}"


@pytest.fixture
def working_number(org, fake_waha, settings):
    """A linked number whose WORKING session carries the hub's webhook, as WAHA answers it, and an operator's proxy."""
    settings.PUBLIC_BASE_URL = "https://hub.example.com"
    number = waha_number(org, fake_waha, session_status="WORKING", status="active")
    webhook = {**hub_webhook(org, "hmac-key-of-the-number"), "retries": None, "customHeaders": None}
    fake_waha.add_session(
        number.waha_session, config={"webhooks": [webhook], "proxy": {"server": "proxy.example.com:3128"}}
    )
    return number


def test_changing_the_hmac_key_puts_the_full_session_config_once_after_commit(
    org, admin_client, fake_waha, working_number, django_capture_on_commit_callbacks
):
    number = working_number
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.patch(detail_url(number), {"waha_webhook_hmac_key": "rotated-key"}, format="json")
    assert fake_waha.find_requests() == []  # nothing before commit
    for callback in callbacks:
        callback()

    assert response.status_code == 200
    [put] = fake_waha.find_requests(method="PUT")
    assert (put.path, put.json) == (
        f"/api/sessions/{number.waha_session}",
        {"config": {"webhooks": [hub_webhook(org, "rotated-key")], "proxy": {"server": "proxy.example.com:3128"}}},
    )
    assert fake_waha.session(number.waha_session).status == "WORKING"  # WAHA restarted it, still linked
    number.refresh_from_db()
    assert (number.session_status, number.status) == ("STARTING", "pending")  # WAHA's answer to the PUT

    waha_session_sync.delay(organization_id=org.pk, number_id=number.pk)  # a second run changes nothing

    assert len(fake_waha.find_requests(method="PUT")) == 1


def test_changing_an_unrelated_field_leaves_waha_alone(
    admin_client, fake_waha, working_number, django_capture_on_commit_callbacks
):
    masked_key = admin_client.get(detail_url(working_number)).json()["waha_webhook_hmac_key"]

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.patch(
            detail_url(working_number), {"display_name": "Sales", "waha_webhook_hmac_key": masked_key}, format="json"
        )

    assert (response.status_code, response.json()["display_name"]) == (200, "Sales")
    assert fake_waha.find_requests() == []


def test_renaming_the_session_creates_the_new_one_and_leaves_the_old_one(
    org, admin_client, fake_waha, working_number, django_capture_on_commit_callbacks
):
    old_name = working_number.waha_session

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.patch(detail_url(working_number), {"waha_session": "web2"}, format="json")

    new_name = f"org{org.pk}-web2"
    assert response.json()["waha_session"] == new_name
    assert (fake_waha.session(new_name).status, fake_waha.session(new_name).config) == (
        "STOPPED",
        {"webhooks": [hub_webhook(org, "hmac-key-of-the-number")]},
    )
    assert fake_waha.session(old_name).status == "WORKING"
    assert fake_waha.find_requests(method="PUT") == fake_waha.find_requests(method="DELETE") == []
    working_number.refresh_from_db()
    assert (working_number.session_status, working_number.status) == ("STOPPED", "disconnected")


def test_a_new_number_on_an_existing_session_gives_it_the_hubs_webhook(
    org, admin_client, fake_waha, settings, django_capture_on_commit_callbacks
):
    settings.PUBLIC_BASE_URL = "https://hub.example.com"
    fake_waha.add_session(f"org{org.pk}-shop", config={"metadata": {"owner": "ops"}})

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            LIST_URL,
            {
                "display_name": "Shop",
                "provider": "waha",
                "waha_session": "shop",
                "waha_api_key": fake_waha.api_key,
                "waha_webhook_hmac_key": "shop-key",
            },
            format="json",
        )

    [put] = fake_waha.find_requests(method="PUT")
    assert put.json == {"config": {"metadata": {"owner": "ops"}, "webhooks": [hub_webhook(org, "shop-key")]}}
    assert WhatsAppNumber.objects.get().session_status == "STARTING"


def test_starting_a_session_gives_it_the_hubs_webhook_when_it_lacks_it(org, admin_client, fake_waha, working_number):
    fake_waha.session(working_number.waha_session).config = None
    fake_waha.set_session_status(working_number.waha_session, "STOPPED")

    response = admin_client.post(url(working_number, "session/start"))

    assert response.json()["status"] == "STARTING"
    assert [(r.method, r.path.rsplit("/", 1)[-1]) for r in fake_waha.find_requests()] == [
        ("GET", working_number.waha_session),
        ("PUT", working_number.waha_session),
        ("POST", "start"),
    ]
    assert fake_waha.session(working_number.waha_session).config == {
        "webhooks": [hub_webhook(org, "hmac-key-of-the-number")]
    }


def test_a_transient_waha_failure_is_retried_until_the_config_is_pushed(
    org, admin_client, fake_waha, working_number, django_capture_on_commit_callbacks
):
    fake_waha.fail_next(500, times=2, method="PUT")

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.patch(detail_url(working_number), {"waha_webhook_hmac_key": "rotated-key"}, format="json")

    assert len(fake_waha.find_requests(method="PUT")) == 3
    assert fake_waha.session(working_number.waha_session).config["webhooks"] == [hub_webhook(org, "rotated-key")]
    assert not AuditLog.objects.filter(action="number.session_sync_failed").exists()


@pytest.mark.parametrize(
    ("failure", "puts", "detail"),
    [
        (None, 0, UNREACHABLE),
        (500, MAX_ATTEMPTS, "WAHA failed (HTTP 500)."),
        (404, 1, "WAHA has no session '{session}': start the session first."),
    ],
    ids=["waha-down", "waha-keeps-failing", "session-gone"],
)
def test_a_failed_sync_keeps_the_change_and_is_audited(
    org, admin_client, fake_waha, working_number, django_capture_on_commit_callbacks, failure, puts, detail
):
    session = working_number.waha_session
    if failure is None:
        fake_waha.stop()
    else:
        fake_waha.fail_next(failure, times=MAX_ATTEMPTS, method="PUT")

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.patch(detail_url(working_number), {"waha_webhook_hmac_key": "rotated"}, format="json")

    assert response.status_code == 200
    working_number.refresh_from_db()
    assert (working_number.waha_webhook_hmac_key, working_number.session_status) == ("rotated", "WORKING")
    assert len(fake_waha.find_requests(method="PUT")) == puts
    audit = AuditLog.objects.get(action="number.session_sync_failed")
    assert (audit.actor, audit.target_id) == (None, str(working_number.pk))
    assert audit.data == {"session": session, "detail": detail.format(session=session)}
