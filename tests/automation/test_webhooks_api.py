"""The outbound webhooks API (admins): endpoints created with a secret shown once and stored encrypted, their URL
checked by the egress policy, events from the list, updates, deletion, secret rotation, the delivery log and
redelivery. Delivery itself (signing, retries, auto-disable, the SSRF matrix) is in test_webhooks_delivery.py."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import AuditLog
from automation import events
from automation.models import WebhookDelivery, WebhookEndpoint
from tests.assertions import assert_error
from tests.automation.webhooks_support import (
    WEBHOOKS,
    WebhookDeliveryFactory,
    WebhookEndpointFactory,
    posted_events,
    receiving_endpoint,
)
from tests.messaging.inbox_support import committed

PUBLIC_URL = "https://public.example/hooks/whatsapp"
PUBLIC_ONLY = "The host must resolve to public addresses only; a private service needs the hub's operator to allow it."


@pytest.fixture(autouse=True)
def dns(fake_dns):
    """Names resolve from a table (public.example is public): no test asks a real resolver."""
    return fake_dns


def _stored_secret_column(endpoint_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM automation_webhookendpoint WHERE id = %s", [endpoint_id])
        return cursor.fetchone()[0]


def test_an_admin_creates_an_endpoint_and_reads_its_generated_secret_once(admin_client, admin_membership, org):
    response = admin_client.post(
        WEBHOOKS,
        {"url": PUBLIC_URL, "events": ["message.received", "contact.created"], "description": "CRM"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    endpoint = WebhookEndpoint.objects.get(pk=body["id"])
    assert body["secret"].startswith("whsec_") and len(body["secret"]) == 6 + 43
    assert body["secret"] == endpoint.secret
    assert {key: body[key] for key in ("url", "events", "description", "active", "secret_masked", "created_by")} == {
        "url": PUBLIC_URL,
        "events": ["message.received", "contact.created"],
        "description": "CRM",
        "active": True,
        "secret_masked": "..." + endpoint.secret[-4:],
        "created_by": admin_membership.user.email,
    }
    assert endpoint.organization == org
    assert _stored_secret_column(endpoint.pk) not in ("", endpoint.secret)  # encrypted at rest
    shown = admin_client.get(f"{WEBHOOKS}/{endpoint.pk}").json()
    assert "secret" not in shown
    assert endpoint.secret not in str(admin_client.get(WEBHOOKS).json())
    assert AuditLog.objects.filter(organization=org, action="webhook.create", target_id=str(endpoint.pk)).count() == 1


def test_the_seed_body_with_a_secret_of_ones_own_is_taken(admin_client):
    response = admin_client.post(
        WEBHOOKS,
        {"url": PUBLIC_URL, "events": ["message.received"], "secret": "my-own-signing-secret-123"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["secret"] == "my-own-signing-secret-123"
    assert WebhookEndpoint.objects.get().secret == "my-own-signing-secret-123"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"url": "https://10.0.0.5/hooks"}, "url", PUBLIC_ONLY),
        ({"url": "http://169.254.169.254/latest/meta-data/"}, "url", PUBLIC_ONLY),
        ({"url": "http://localhost:8000/hooks"}, "url", PUBLIC_ONLY),
        ({"url": "http://[::1]/hooks"}, "url", PUBLIC_ONLY),
        (
            {"url": "http://2130706433/hooks"},
            "url",
            "Write the host as a name, a dotted IPv4 address or a bracketed IPv6 address.",
        ),
        ({"url": "ftp://public.example/hooks"}, "url", "Only http and https URLs are allowed."),
        ({"url": "https://user:pass@public.example/hooks"}, "url", "A URL here cannot carry a user name or password."),
        ({"url": "https://public.example/hooks#part"}, "url", "A webhook URL cannot have a fragment (#...)."),
        ({"url": "not a url"}, "url", "Enter a valid URL."),
        ({"events": []}, "events", "This list may not be empty."),
        ({"events": ["message.deleted"]}, "events", {"0": ['"message.deleted" is not a valid choice.']}),
        ({"secret": "short"}, "secret", "Ensure this field has at least 16 characters."),
        ({"secret": "has spaces in the secret"}, "secret", "A secret is printable ASCII characters without spaces."),
    ],
)
def test_a_bad_endpoint_is_refused_with_a_400_naming_the_field(admin_client, body, field, message):
    response = admin_client.post(WEBHOOKS, {"url": PUBLIC_URL, "events": ["message.received"], **body}, format="json")

    error = assert_error(response, 400)
    assert error["errors"][field] == (message if isinstance(message, dict) else [message])
    assert WebhookEndpoint.objects.count() == 0


@pytest.mark.parametrize("client_name", ["agent_client", "marketing_client"])
def test_only_admins_manage_webhooks(request, client_name, org):
    client = request.getfixturevalue(client_name)
    endpoint = WebhookEndpointFactory(organization=org)

    assert client.get(WEBHOOKS).status_code == 403
    assert client.post(WEBHOOKS, {"url": PUBLIC_URL, "events": ["message.received"]}, format="json").status_code == 403
    assert client.post(f"{WEBHOOKS}/{endpoint.pk}/rotate-secret").status_code == 403
    assert client.delete(f"{WEBHOOKS}/{endpoint.pk}").status_code == 403
    assert list(WebhookEndpoint.objects.values_list("pk", flat=True)) == [endpoint.pk]


def test_another_organization_s_endpoint_is_a_404_and_stays_as_it_was(admin_client, other_org):
    theirs = WebhookEndpointFactory(organization=other_org, events=["message.received"])
    delivery = WebhookDeliveryFactory(endpoint=theirs)
    base = f"{WEBHOOKS}/{theirs.pk}"

    for method, url in [
        ("get", base),
        ("patch", base),
        ("delete", base),
        ("post", f"{base}/rotate-secret"),
        ("post", f"{base}/test"),
        ("get", f"{base}/deliveries"),
        ("post", f"{base}/deliveries/{delivery.pk}/redeliver"),
    ]:
        body = {"events": ["contact.created"]} if method != "get" else None
        assert_error(getattr(admin_client, method)(url, body, format="json"), 404)

    theirs.refresh_from_db()
    assert (theirs.events, theirs.secret.startswith("whsec_test_secret_")) == (["message.received"], True)
    assert WebhookDelivery.objects.filter(endpoint=theirs).count() == 1


def test_an_admin_changes_the_events_and_deactivates_an_endpoint_failing_what_waits(admin_client, org):
    endpoint = WebhookEndpointFactory(organization=org)
    waiting = WebhookDeliveryFactory(endpoint=endpoint, status="retrying", attempts=2, error_code="")

    response = admin_client.patch(
        f"{WEBHOOKS}/{endpoint.pk}", {"events": ["contact.created", "contact.created"], "active": False}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert (response.json()["events"], response.json()["active"]) == (["contact.created"], False)
    waiting.refresh_from_db()
    assert (waiting.status, waiting.error_code, waiting.next_attempt_at) == ("failed", "endpoint_disabled", None)
    assert AuditLog.objects.get(organization=org, action="webhook.update").data == {"changed": ["events", "active"]}


def test_activating_a_disabled_endpoint_clears_why_and_its_failure_count(admin_client, org):
    endpoint = WebhookEndpointFactory(
        organization=org,
        active=False,
        disabled_at=timezone.now(),
        disabled_reason="Disabled automatically",
        consecutive_failures=12,
        failing_since=timezone.now() - timedelta(days=2),
    )

    body = admin_client.patch(f"{WEBHOOKS}/{endpoint.pk}", {"active": True}, format="json").json()

    assert {key: body[key] for key in ("active", "disabled_at", "disabled_reason", "consecutive_failures")} == {
        "active": True,
        "disabled_at": None,
        "disabled_reason": "",
        "consecutive_failures": 0,
    }


def test_put_needs_the_url_and_events_and_takes_no_secret(admin_client, org):
    endpoint = WebhookEndpointFactory(organization=org)

    missing = admin_client.put(f"{WEBHOOKS}/{endpoint.pk}", {"events": ["contact.created"]}, format="json")
    with_secret = admin_client.put(
        f"{WEBHOOKS}/{endpoint.pk}",
        {"url": PUBLIC_URL, "events": ["contact.created"], "secret": "a-brand-new-secret-value"},
        format="json",
    )
    whole = admin_client.put(
        f"{WEBHOOKS}/{endpoint.pk}", {"url": PUBLIC_URL, "events": ["contact.created"]}, format="json"
    )

    assert assert_error(missing, 400)["errors"] == {"url": ["This field is required."]}
    assert assert_error(with_secret, 400)["errors"] == {"secret": ["Unknown field."]}
    assert whole.status_code == 200
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.events, endpoint.secret.startswith("whsec_test_secret_")) == (
        PUBLIC_URL,
        ["contact.created"],
        True,
    )


def test_deleting_an_endpoint_removes_its_log_and_is_audited(admin_client, org):
    endpoint = WebhookEndpointFactory(organization=org)
    WebhookDeliveryFactory(endpoint=endpoint)

    assert admin_client.delete(f"{WEBHOOKS}/{endpoint.pk}").status_code == 204

    assert (WebhookEndpoint.objects.count(), WebhookDelivery.objects.count()) == (0, 0)
    assert AuditLog.objects.get(organization=org, action="webhook.delete").data == {"url": endpoint.url}


def test_rotating_the_secret_returns_the_new_one_once_and_keeps_the_old_one_signing_for_a_day(
    admin_client, org, frozen
):
    endpoint = WebhookEndpointFactory(organization=org)
    old = endpoint.secret

    response = admin_client.post(f"{WEBHOOKS}/{endpoint.pk}/rotate-secret", {}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    endpoint.refresh_from_db()
    assert body["secret"] == endpoint.secret != old
    assert endpoint.previous_secret == old
    assert endpoint.previous_secret_expires_at == timezone.now() + timedelta(hours=24)
    assert endpoint.signing_secrets() == [endpoint.secret, old]
    frozen.shift(timedelta(hours=24, seconds=1))
    assert endpoint.signing_secrets() == [endpoint.secret]
    assert AuditLog.objects.get(organization=org, action="webhook.rotate_secret").data == {"grace_hours": 24}


def test_a_rotation_with_no_grace_stops_the_old_secret_at_once(admin_client, org):
    endpoint = WebhookEndpointFactory(organization=org)

    body = admin_client.post(
        f"{WEBHOOKS}/{endpoint.pk}/rotate-secret", {"secret": "the-next-secret-0001", "grace_hours": 0}, format="json"
    ).json()

    endpoint.refresh_from_db()
    assert (body["secret"], body["previous_secret_expires_at"]) == ("the-next-secret-0001", None)
    assert endpoint.signing_secrets() == ["the-next-secret-0001"]


def test_the_delivery_log_filters_by_status_and_event_newest_first(admin_client, org):
    endpoint = WebhookEndpointFactory(organization=org)
    failed = WebhookDeliveryFactory(endpoint=endpoint)
    succeeded = WebhookDeliveryFactory(endpoint=endpoint, status="succeeded", response_status=204, error_code="")
    contact = WebhookDeliveryFactory(endpoint=endpoint, event_type="contact.created")
    WebhookDeliveryFactory(endpoint=WebhookEndpointFactory(organization=org))  # another endpoint's
    url = f"{WEBHOOKS}/{endpoint.pk}/deliveries"

    def ids(query=None):
        response = admin_client.get(url, query or {})
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [contact.pk, succeeded.pk, failed.pk]
    assert ids({"status": "failed"}) == [contact.pk, failed.pk]
    assert ids({"event": "contact.created"}) == [contact.pk]
    assert assert_error(admin_client.get(url, {"status": "lost"}), 400)["errors"]["status"]
    assert assert_error(admin_client.get(url, {"limit": 5}), 400)["errors"]["limit"]
    row = admin_client.get(url, {"status": "failed", "event": "message.received"}).json()["results"][0]
    assert {key: row[key] for key in ("status", "attempts", "response_status", "error_code", "error")} == {
        "status": "failed",
        "attempts": 8,
        "response_status": 500,
        "error_code": "http_status",
        "error": "The endpoint answered HTTP 500 (only 2xx counts as delivered).",
    }


def test_redelivering_sends_the_same_event_again_as_a_new_delivery(admin_client, org, settings, webhook_receiver):
    endpoint = receiving_endpoint(settings, webhook_receiver, org)
    failed = WebhookDeliveryFactory(endpoint=endpoint)

    response = committed(admin_client.post, f"{WEBHOOKS}/{endpoint.pk}/deliveries/{failed.pk}/redeliver")

    assert response.status_code == 202, response.json()
    again = WebhookDelivery.objects.get(redelivery_of=failed)
    assert response.json()["id"] == again.pk
    again.refresh_from_db()
    assert (again.status, again.event_id, again.attempts, again.response_status) == (
        "succeeded",
        failed.event_id,
        1,
        200,
    )
    assert posted_events(webhook_receiver) == [failed.payload]
    failed.refresh_from_db()
    assert failed.status == "failed"  # the log keeps what happened


@pytest.mark.parametrize(
    ("status", "active", "code"),
    [
        ("retrying", True, "delivery_in_progress"),
        ("pending", True, "delivery_in_progress"),
        ("failed", False, "endpoint_inactive"),
    ],
)
def test_a_redelivery_is_refused_while_it_runs_or_when_the_endpoint_is_off(admin_client, org, status, active, code):
    endpoint = WebhookEndpointFactory(organization=org, active=active)
    delivery = WebhookDeliveryFactory(endpoint=endpoint, status=status)

    response = admin_client.post(f"{WEBHOOKS}/{endpoint.pk}/deliveries/{delivery.pk}/redeliver")

    assert assert_error(response, 409)["code"] == code
    assert WebhookDelivery.objects.count() == 1


def test_a_delivery_of_another_endpoint_is_a_404_for_redelivery(admin_client, org):
    endpoint = WebhookEndpointFactory(organization=org)
    elsewhere = WebhookDeliveryFactory(endpoint=WebhookEndpointFactory(organization=org))

    response = admin_client.post(f"{WEBHOOKS}/{endpoint.pk}/deliveries/{elsewhere.pk}/redeliver")

    assert_error(response, 404)
    assert WebhookDelivery.objects.count() == 1


def test_a_new_endpoint_receives_events_at_once(admin_client, org, settings, webhook_receiver):
    """The organization's subscriptions are cached; creating an endpoint drops the cache."""
    events.emit(organization_id=org.pk, type="contact.created", data={"contact_id": 1})  # caches: nobody listens
    settings.EGRESS_ALLOWED_HOSTS = [f"127.0.0.1:{webhook_receiver.port}"]
    committed(
        admin_client.post, WEBHOOKS, {"url": f"{webhook_receiver.url}/in", "events": ["contact.created"]}, format="json"
    )

    committed(events.emit, organization_id=org.pk, type="contact.created", data={"contact_id": 2})

    assert [event["data"] for event in posted_events(webhook_receiver)] == [{"contact_id": 2}]


def test_an_unchanged_url_is_not_checked_again(admin_client, org):
    endpoint = WebhookEndpointFactory(organization=org)  # its host does not resolve (now)

    same = admin_client.patch(f"{WEBHOOKS}/{endpoint.pk}", {"url": endpoint.url, "active": False}, format="json")
    other = admin_client.patch(f"{WEBHOOKS}/{endpoint.pk}", {"url": endpoint.url + "/v2"}, format="json")

    assert same.status_code == 200, same.json()
    assert assert_error(other, 400)["errors"] == {"url": [PUBLIC_ONLY]}
    endpoint.refresh_from_db()
    assert (endpoint.active, endpoint.url.endswith("/receive")) == (False, True)
