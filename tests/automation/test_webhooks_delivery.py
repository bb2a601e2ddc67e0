"""Delivering outbound webhooks: the body and its signature as a receiver checks them (replay window, rotation),
at-least-once with the backoff schedule driven by the sweeper, the errors recorded in safe words, the test ping,
auto-disable (audit entry, e-mail to the admins), and the SSRF matrix: nothing reaches an address that is not
public, whatever its spelling, and no redirect is followed.

Nothing leaves 127.0.0.1: names resolve from a table, and a guard under urllib3 refuses (and records) a connection
to any other address. Receivers are local servers the egress policy is told to allow (`receiving_endpoint`)."""

import json
from datetime import timedelta

import pytest
import urllib3.util.connection
from django.core import mail
from django.utils import timezone

from accounts.models import AuditLog, Role
from automation import events
from automation.models import WebhookDelivery, WebhookEndpoint
from automation.services import webhooks as services
from messaging.models import Notification
from tests.automation.webhooks_support import (
    WEBHOOKS,
    WebhookDeliveryFactory,
    WebhookEndpointFactory,
    posted_events,
    receiving_endpoint,
    verify_signature,
)
from tests.factories import MembershipFactory, UserFactory
from tests.fakes import Response
from tests.fakes.pytest_plugin import allow_egress
from tests.messaging.inbox_support import committed, listen_to_inbox

MINUTE, HOUR = 60, 3600


@pytest.fixture(autouse=True)
def dns(fake_dns):
    return fake_dns


@pytest.fixture(autouse=True)
def connections(monkeypatch) -> list[str]:
    """Every address a connection was opened to; anything but loopback is refused before a packet leaves."""
    attempted: list[str] = []
    real = urllib3.util.connection.create_connection

    def create_connection(address, *args, **kwargs):
        attempted.append(address[0])
        if address[0] not in ("127.0.0.1", "::1"):
            raise ConnectionRefusedError(f"test guard: no connection to {address[0]}")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", create_connection)
    return attempted


def emit(org, event_type="message.received", data=None):
    committed(events.emit, organization_id=org.pk, type=event_type, data=data or {"message_id": 7})


def failing(settings, scripted_server, org, *, status=500, body=b'{"error": "down for maintenance"}', **fields):
    """An endpoint of `org` on the scripted server, which answers `status` to everything."""
    scripted_server.default = Response(status, body, "application/json")
    return receiving_endpoint(settings, scripted_server, org, **fields)


def sweep():
    return committed(services.webhook_deliveries_sweep)


def fail_for_almost_a_day(org, frozen) -> None:
    """Events to a failing endpoint of `org`, retried by the sweeper until 23 h 50 min after the first failure."""
    for _ in range(4):
        emit(org)
    frozen.shift(timedelta(hours=23))
    for _ in range(5):
        frozen.shift(timedelta(minutes=10))
        sweep()


# --- the body and its signature ------------------------------------------------------------------------------------


def test_an_event_arrives_as_json_signed_so_its_receiver_can_verify_it(org, settings, webhook_receiver, frozen):
    endpoint = receiving_endpoint(settings, webhook_receiver, org)

    emit(org, data={"message_id": 812, "text": "مرحبا 👋"})

    [request] = webhook_receiver.requests
    body = json.loads(request.body)
    assert body == {
        "id": body["id"],
        "type": "message.received",
        "created_at": timezone.now().isoformat().replace("+00:00", "Z"),
        "organization_id": org.pk,
        "data": {"message_id": 812, "text": "مرحبا 👋"},
    }
    assert body["id"].startswith("evt_") and len(body["id"]) == 36
    assert (request.method, request.path, request.headers["Content-Type"]) == ("POST", "/hooks", "application/json")
    assert (request.headers["X-Webhook-Id"], request.headers["X-Webhook-Event"]) == (body["id"], "message.received")
    header = request.headers["X-Webhook-Signature"]
    assert header.startswith(f"t={int(timezone.now().timestamp())},v1=") and header.count("v1=") == 1
    assert verify_signature(header, request.body, endpoint.secret)
    assert not verify_signature(header, request.body, "whsec_someone_elses_secret")
    assert not verify_signature(header, request.body.replace(b"812", b"813"), endpoint.secret)


def test_a_receiver_refuses_a_replay_outside_its_window(org, settings, webhook_receiver, frozen):
    endpoint = receiving_endpoint(settings, webhook_receiver, org)

    emit(org)

    [request] = webhook_receiver.requests
    header, sent_at = request.headers["X-Webhook-Signature"], int(timezone.now().timestamp())
    assert verify_signature(header, request.body, endpoint.secret, now=sent_at + 300)
    assert not verify_signature(header, request.body, endpoint.secret, now=sent_at + 301)
    # The timestamp is signed with the body: moving it to make an old delivery look fresh breaks the signature.
    fresh = header.replace(f"t={sent_at}", f"t={sent_at + 600}")
    assert not verify_signature(fresh, request.body, endpoint.secret, now=sent_at + 600)


def test_during_a_rotation_both_secrets_sign_then_only_the_new_one(
    admin_client, org, settings, webhook_receiver, frozen
):
    endpoint = receiving_endpoint(settings, webhook_receiver, org)
    old = endpoint.secret
    new = admin_client.post(f"{WEBHOOKS}/{endpoint.pk}/rotate-secret", {}, format="json").json()["secret"]

    emit(org)
    frozen.shift(timedelta(hours=24, seconds=1))
    emit(org)

    during, after = webhook_receiver.requests
    assert during.headers["X-Webhook-Signature"].count("v1=") == 2
    sent_during = timezone.now().timestamp() - 24 * HOUR - 1
    assert verify_signature(during.headers["X-Webhook-Signature"], during.body, new, now=sent_during)
    assert verify_signature(during.headers["X-Webhook-Signature"], during.body, old, now=sent_during)
    assert after.headers["X-Webhook-Signature"].count("v1=") == 1
    assert verify_signature(after.headers["X-Webhook-Signature"], after.body, new)
    assert not verify_signature(after.headers["X-Webhook-Signature"], after.body, old)


def test_every_endpoint_gets_the_event_with_the_same_id_and_only_subscribers_get_it(org, other_org, settings):
    from tests.fakes.server import WebhookReceiver

    with WebhookReceiver() as first, WebhookReceiver() as second, WebhookReceiver() as elsewhere:
        receiving_endpoint(settings, first, org, events=["message.received", "contact.created"])
        receiving_endpoint(settings, second, org, events=["message.received"])
        receiving_endpoint(settings, elsewhere, other_org, events=["message.received"])
        receiving_endpoint(settings, elsewhere, org, events=["message.status"])
        receiving_endpoint(settings, elsewhere, org, events=["message.received"], active=False)

        emit(org, "message.received")
        emit(org, "contact.created", {"contact_id": 3})

        assert [event["type"] for event in posted_events(first)] == ["message.received", "contact.created"]
        assert [event["type"] for event in posted_events(second)] == ["message.received"]
        assert posted_events(first)[0]["id"] == posted_events(second)[0]["id"]
        assert elsewhere.requests == []


def test_nothing_is_sent_for_work_that_rolled_back(org, settings, webhook_receiver, django_capture_on_commit_callbacks):
    receiving_endpoint(settings, webhook_receiver, org)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        events.emit(organization_id=org.pk, type="message.received", data={"message_id": 1})
    # The transaction never commits: its callbacks are dropped.

    assert (len(callbacks), webhook_receiver.requests, WebhookDelivery.objects.count()) == (1, [], 0)


def test_an_unknown_event_type_is_a_programming_error(org):
    with pytest.raises(ValueError, match=r"unknown webhook event type 'message\.deleted'"):
        events.emit(organization_id=org.pk, type="message.deleted", data={})


# --- retries -----------------------------------------------------------------------------------------------------


def test_a_failed_delivery_is_retried_on_the_backoff_schedule_then_fails(
    org, settings, scripted_server, frozen, monkeypatch
):
    monkeypatch.setattr(services, "JITTER", 0)  # the schedule's own steps (the jitter: the next test)
    endpoint = failing(settings, scripted_server, org)
    emit(org)
    delivery = WebhookDelivery.objects.get()
    waits = []
    for _ in range(services.MAX_ATTEMPTS - 1):
        delivery.refresh_from_db()
        assert delivery.status == "retrying"
        wait = delivery.next_attempt_at - delivery.last_attempt_at
        waits.append(wait.total_seconds())
        frozen.shift(wait - timedelta(seconds=1))
        assert sweep() == 0  # not due yet
        frozen.shift(timedelta(seconds=1))
        assert sweep() == 1

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 8, None)
    assert len(scripted_server.requests) == 8
    assert len({json.loads(request.body)["id"] for request in scripted_server.requests}) == 1  # one event, again
    assert waits == [60, 5 * MINUTE, 15 * MINUTE, HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR]
    assert sum(waits) == 22 * HOUR + 21 * MINUTE
    assert (delivery.response_status, delivery.error_code) == (500, "http_status")
    assert delivery.response_excerpt == '{"error": "down for maintenance"}'
    endpoint.refresh_from_db()
    assert (endpoint.consecutive_failures, endpoint.active) == (8, True)  # failing for 22 hours: not a day yet


def test_the_retry_waits_are_jittered(org):
    waits = {services.retry_delay(1).total_seconds() for _ in range(50)}

    assert len(waits) > 40
    assert min(waits) >= 51 and max(waits) <= 69  # 60 s, ±15%


def test_a_success_after_failures_ends_the_retries_and_the_failure_count(org, settings, scripted_server, frozen):
    endpoint = failing(settings, scripted_server, org, status=503)
    emit(org)
    frozen.shift(timedelta(minutes=2))
    sweep()
    scripted_server.default = Response(204, b"", "text/plain")
    frozen.shift(timedelta(minutes=6))

    assert sweep() == 1

    delivery = WebhookDelivery.objects.get()
    endpoint.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status, delivery.error_code) == (
        "succeeded",
        3,
        204,
        "",
    )
    assert delivery.delivered_at == timezone.now()
    assert (endpoint.consecutive_failures, endpoint.failing_since) == (0, None)


def test_retries_live_in_the_database_a_lost_task_or_a_dead_worker_is_taken_up(org, settings, webhook_receiver, frozen):
    endpoint = receiving_endpoint(settings, webhook_receiver, org)
    now = timezone.now()
    # Queued but its task lost (the broker was down at commit), and one whose worker died mid-attempt (leased).
    lost = WebhookDeliveryFactory(endpoint=endpoint, status="pending", attempts=0, next_attempt_at=now, error_code="")
    leased = WebhookDeliveryFactory(
        endpoint=endpoint, status="pending", attempts=1, next_attempt_at=now + services.LEASE, error_code=""
    )

    assert sweep() == 0  # a new delivery's task gets a minute to run it, a lease runs for two
    frozen.shift(services.LEASE + services.PENDING_GRACE)
    assert sweep() == 2

    assert sorted(WebhookDelivery.objects.values_list("pk", "status", "attempts")) == [
        (lost.pk, "succeeded", 1),
        (leased.pk, "succeeded", 2),
    ]
    assert len(webhook_receiver.requests) == 2


def test_a_delivery_run_twice_is_sent_once(org, settings, webhook_receiver):
    receiving_endpoint(settings, webhook_receiver, org)
    emit(org)
    delivery = WebhookDelivery.objects.get()

    again = services.webhook_deliveries_attempt(organization_id=org.pk, delivery_ids=[delivery.pk])

    assert (again, len(webhook_receiver.requests)) == ([], 1)


def test_a_timeout_is_retried_and_said_so(org, settings, monkeypatch):
    import socket

    monkeypatch.setattr(services, "TIMEOUT", (1.0, 0.2))
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts the connection, never answers
    port = silent.getsockname()[1]
    settings.EGRESS_ALLOWED_HOSTS = [f"127.0.0.1:{port}"]
    WebhookEndpointFactory(organization=org, url=f"http://127.0.0.1:{port}/hooks")
    try:
        emit(org)
    finally:
        silent.close()

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.error_code, delivery.response_status) == ("retrying", "timeout", None)
    assert services.error_message(delivery) == "The endpoint did not answer within 0 seconds."


def test_a_refused_connection_is_retried_and_said_so(org, settings):
    import socket

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    settings.EGRESS_ALLOWED_HOSTS = [f"127.0.0.1:{port}"]
    WebhookEndpointFactory(organization=org, url=f"http://127.0.0.1:{port}/hooks")

    emit(org)

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.error_code) == ("retrying", "connection")
    assert services.error_message(delivery) == "Could not connect to the endpoint."


def test_the_excerpt_is_the_start_of_the_answer_cut_at_500_characters(org, settings, scripted_server):
    failing(settings, scripted_server, org, status=400, body=b"<h1>Bad</h1>\x00" + "é".encode() * 2000)

    emit(org)

    delivery = WebhookDelivery.objects.get()
    assert delivery.response_excerpt == "<h1>Bad</h1>" + "é" * 488


def test_the_webhook_page_hears_of_changes_at_most_once_a_second_the_rest_at_its_end(
    org, settings, webhook_receiver, task_runs
):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # coalesced as in production (tasks still run inline in tests)
    endpoint = receiving_endpoint(settings, webhook_receiver, org)
    receive = listen_to_inbox(org.pk)

    emit(org)
    emit(org)  # within the same second: pushed by the trailing task

    pushes = receive(2)
    assert [(push["event"], push["data"], push["number_ids"]) for push in pushes] == [
        ("webhook.deliveries", {"endpoint_ids": [endpoint.pk]}, "organization")
    ] * 2
    assert [name for name, *_ in task_runs].count("automation.tasks.push_webhook_log") == 1


# --- auto-disable ----------------------------------------------------------------------------------------------------


def test_an_endpoint_failing_for_a_day_is_disabled_with_an_audit_entry_and_an_e_mail_to_the_admins(
    org, settings, scripted_server, frozen, admin_membership
):
    second_admin = MembershipFactory(organization=org, role=Role.ADMIN, user=UserFactory(language="ar"))
    MembershipFactory(organization=org, role=Role.AGENT)
    MembershipFactory(organization=org, role=Role.ADMIN, is_active=False)
    endpoint = failing(settings, scripted_server, org, events=["message.received", "contact.created"])
    started = timezone.now()
    fail_for_almost_a_day(org, frozen)
    emit(org, "contact.created", {"contact_id": 1})  # still within the day: on
    endpoint.refresh_from_db()
    assert endpoint.active is True
    waiting = WebhookDelivery.objects.filter(status="retrying").count()
    assert waiting >= 1

    frozen.shift(timedelta(hours=1))
    emit(org)

    endpoint.refresh_from_db()
    assert (endpoint.active, endpoint.disabled_at, endpoint.failing_since) == (False, timezone.now(), started)
    assert endpoint.disabled_reason.startswith("Disabled automatically: every delivery attempt failed")
    assert not WebhookDelivery.objects.filter(status__in=["pending", "retrying"]).exists()
    assert WebhookDelivery.objects.filter(error_code="endpoint_disabled").count() >= waiting
    entry = AuditLog.objects.get(organization=org, action="webhook.auto_disable")
    assert (entry.actor, entry.target_id, entry.data["url"]) == (None, str(endpoint.pk), endpoint.url)
    assert entry.data["consecutive_failures"] == endpoint.consecutive_failures
    assert sorted(message.to[0] for message in mail.outbox) == sorted(
        [admin_membership.user.email, second_admin.user.email]
    )
    english = next(m for m in mail.outbox if m.to == [admin_membership.user.email])
    assert english.subject == "Webhook endpoint disabled in Acme"
    assert endpoint.url in english.body
    assert f"/settings/webhooks/{endpoint.pk}/" in english.body
    arabic = next(m for m in mail.outbox if m.to == [second_admin.user.email])  # each admin in their language
    assert arabic.subject == "أُوقفت نقطة استقبال Webhook في Acme"
    # The active admins' bells say so too (messaging's notification centre); nobody else's.
    notified = Notification.objects.filter(organization=org, kind="integration_failing")
    assert sorted(notified.values_list("recipient_id", flat=True)) == sorted(
        [admin_membership.user_id, second_admin.user_id]
    )
    assert {(n.link, n.data["params"]["url"]) for n in notified} == {("/settings/webhooks/", endpoint.url)}
    # Disabled: nothing more is sent to it.
    before = len(scripted_server.requests)
    emit(org)
    frozen.shift(timedelta(hours=1))
    sweep()
    assert len(scripted_server.requests) == before
    assert AuditLog.objects.filter(action="webhook.auto_disable").count() == 1


def test_a_success_within_the_day_keeps_the_endpoint_on(org, settings, scripted_server, frozen):
    endpoint = failing(settings, scripted_server, org)
    for _ in range(5):
        emit(org)
    frozen.shift(timedelta(hours=20))
    scripted_server.default = Response(200, b"ok", "text/plain")
    emit(org)
    scripted_server.default = Response(500, b"", "text/plain")
    frozen.shift(timedelta(hours=5))

    emit(org)

    endpoint.refresh_from_db()
    assert (endpoint.active, endpoint.consecutive_failures, endpoint.failing_since) == (True, 1, timezone.now())
    assert mail.outbox == []


# --- the test ping -----------------------------------------------------------------------------------------------


def test_a_test_ping_is_sent_at_once_and_answers_how_it_went(admin_client, org, settings, webhook_receiver):
    endpoint = receiving_endpoint(settings, webhook_receiver, org, active=False)

    response = admin_client.post(f"{WEBHOOKS}/{endpoint.pk}/test")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert {key: body[key] for key in ("event_type", "status", "attempts", "response_status", "error")} == {
        "event_type": "ping",
        "status": "succeeded",
        "attempts": 1,
        "response_status": 200,
        "error": "",
    }
    assert isinstance(body["latency_ms"], int)
    [event] = posted_events(webhook_receiver)
    assert (event["type"], event["data"]) == (
        "ping",
        {"endpoint_id": endpoint.pk, "message": "A test ping from WhatsApp Hub."},
    )
    assert verify_signature(
        webhook_receiver.requests[0].headers["X-Webhook-Signature"], webhook_receiver.requests[0].body, endpoint.secret
    )


def test_a_failed_ping_is_not_retried_and_counts_toward_nothing(admin_client, org, settings, scripted_server, frozen):
    endpoint = failing(settings, scripted_server, org, status=404, body=b"no such route")

    body = admin_client.post(f"{WEBHOOKS}/{endpoint.pk}/test").json()
    frozen.shift(timedelta(hours=1))
    sweep()

    assert (body["status"], body["response_status"], body["response_excerpt"], body["next_attempt_at"]) == (
        "failed",
        404,
        "no such route",
        None,
    )
    assert body["error"] == "The endpoint answered HTTP 404 (only 2xx counts as delivered)."
    assert len(scripted_server.requests) == 1
    endpoint.refresh_from_db()
    assert (endpoint.consecutive_failures, endpoint.failing_since) == (0, None)


def test_the_sweeper_fails_what_waits_for_an_endpoint_turned_off(org, frozen):
    endpoint = WebhookEndpointFactory(organization=org, active=False)
    waiting = WebhookDeliveryFactory(
        endpoint=endpoint, status="retrying", next_attempt_at=timezone.now(), error_code=""
    )

    assert sweep() == 0

    waiting.refresh_from_db()
    assert (waiting.status, waiting.error_code) == ("failed", "endpoint_disabled")


# --- the SSRF matrix ---------------------------------------------------------------------------------------------

# Hosts of webhook URLs that must never be reached: each is refused when saved (400 on `url`) and, should a row hold
# it anyway (a name that resolved publicly when saved, an allow-list entry removed since), when delivering.
FORBIDDEN_HOSTS = [
    "10.0.0.5",  # private
    "192.168.1.1",
    "172.16.0.1",
    "127.0.0.1",  # loopback
    "localhost",
    "169.254.169.254",  # link-local: cloud metadata
    "metadata.google.internal",
    "[::1]",  # IPv6 loopback
    "[::ffff:127.0.0.1]",  # IPv4-mapped
    "[::ffff:169.254.169.254]",
    "[fd00:ec2::254]",  # unique local (AWS metadata over IPv6)
    "2130706433",  # decimal 127.0.0.1
    "017700000001",  # octal
    "0177.0.0.1",
    "0x7f.1",  # hex
    "127.1",  # short form
    "0.0.0.0",
    "rebind.example",  # resolves to 127.0.0.1
]


@pytest.mark.parametrize("host", FORBIDDEN_HOSTS)
def test_a_webhook_url_to_a_non_public_address_is_refused_when_saved(admin_client, host, webhook_receiver, connections):
    response = admin_client.post(
        WEBHOOKS, {"url": f"http://{host}:{webhook_receiver.port}/hooks", "events": ["message.received"]}, format="json"
    )

    assert response.status_code == 400, response.json()
    assert list(response.json()["errors"]) == ["url"]
    assert (WebhookEndpoint.objects.count(), webhook_receiver.requests, connections) == (0, [], [])


@pytest.mark.parametrize("host", FORBIDDEN_HOSTS)
def test_a_delivery_to_a_non_public_address_is_refused_and_nothing_is_sent(org, host, webhook_receiver, connections):
    WebhookEndpointFactory(organization=org, url=f"http://{host}:{webhook_receiver.port}/hooks")

    emit(org)

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.error_code, delivery.response_status) == ("retrying", "address_not_allowed", None)
    assert services.error_message(delivery) == (
        "The endpoint's address is not allowed: the hub only connects to public addresses (or those its operator "
        "allows)."
    )
    assert (webhook_receiver.requests, connections) == ([], [])


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.1:{port}/internal",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:{port}/",
        "/elsewhere",
    ],
)
def test_a_redirect_is_not_followed_even_to_the_same_server(org, settings, scripted_server, webhook_receiver, location):
    target = location.format(port=webhook_receiver.port)
    scripted_server.default = Response(302, b"", "text/plain", {"Location": target})
    receiving_endpoint(settings, scripted_server, org)

    emit(org)

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.error_code) == ("retrying", "redirect")
    assert (
        services.error_message(delivery) == "The endpoint answered with a redirect; the hub does not follow redirects."
    )
    assert (len(scripted_server.requests), webhook_receiver.requests) == (1, [])


def test_an_allowed_host_is_reached_only_on_its_own_port(org, settings, webhook_receiver, scripted_server, connections):
    allow_egress(settings, scripted_server)  # 127.0.0.1:<scripted port> only
    WebhookEndpointFactory(organization=org, url=f"http://127.0.0.1:{webhook_receiver.port}/hooks")

    emit(org)

    assert WebhookDelivery.objects.get().error_code == "address_not_allowed"
    assert (webhook_receiver.requests, connections) == ([], [])


# --- retention and erasure ---------------------------------------------------------------------------------------


def test_finished_deliveries_are_deleted_after_30_days_by_the_sweeper(org, frozen):
    endpoint = WebhookEndpointFactory(organization=org)
    old_failed = WebhookDeliveryFactory(endpoint=endpoint)
    old_succeeded = WebhookDeliveryFactory(endpoint=endpoint, status="succeeded", error_code="")
    old_retrying = WebhookDeliveryFactory(endpoint=endpoint, status="retrying", next_attempt_at=timezone.now())
    frozen.shift(timedelta(days=30))
    recent = WebhookDeliveryFactory(endpoint=endpoint)
    frozen.shift(timedelta(seconds=1))

    sweep()

    assert sorted(WebhookDelivery.objects.values_list("pk", flat=True)) == sorted([old_retrying.pk, recent.pk])
    assert not WebhookDelivery.objects.filter(pk__in=[old_failed.pk, old_succeeded.pk]).exists()


def test_erasing_a_contact_deletes_the_deliveries_about_them(admin_client, org, other_org):
    from tests.messaging.factories import ContactFactory

    contact, neighbour = ContactFactory(organization=org), ContactFactory(organization=org)
    endpoint = WebhookEndpointFactory(organization=org)

    def about(who, target=endpoint):
        return WebhookDeliveryFactory(
            endpoint=target,
            payload={"id": "evt_1", "type": "message.received", "data": {"contact_id": who.pk, "phone": who.phone}},
        )

    about(contact)
    about(contact)
    kept = [about(neighbour), WebhookDeliveryFactory(endpoint=endpoint)]
    elsewhere = about(contact, target=WebhookEndpointFactory(organization=other_org))  # same id, other tenant

    response = committed(admin_client.delete, f"/api/v1/contacts/{contact.pk}")

    assert response.status_code == 204
    assert sorted(WebhookDelivery.objects.values_list("pk", flat=True)) == sorted([*(d.pk for d in kept), elsewhere.pk])
