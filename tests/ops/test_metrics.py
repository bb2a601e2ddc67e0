"""GET /metrics: who may scrape it, and the figures after known scenarios (exact values; the counters of this test
process carry over from earlier tests, so a scenario's counters are compared with a scrape made before it)."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import TestCase
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from automation import events as automation_events
from automation.models import WebhookDelivery
from automation.services import webhooks as webhook_services
from campaigns.models import Campaign
from campaigns.sending import paced_rate
from messaging.models import Conversation, Message, WebhookEvent
from messaging.services import ingest
from tests.automation.webhooks_support import WebhookDeliveryFactory, receiving_endpoint
from tests.fakes import Response, django_client_target
from tests.fakes.meta import DEFAULT_PHONE_NUMBER_ID, DEFAULT_WABA_ID
from tests.messaging.factories import WhatsAppNumberFactory
from tests.messaging.inbox_support import committed, messages_url
from tests.messaging.socket_support import db as in_test_thread
from tests.messaging.socket_support import open_inbox, run, session_cookie
from whatsapp_hub.ops import keys, metrics

ROOT = Path(__file__).resolve().parents[2]
OUTCOMES = metrics.OUTBOUND_WEBHOOK_OUTCOMES
ATTEMPTS = "whatsapp_hub_outbound_webhook_attempts_total"
GIVEN_UP = "whatsapp_hub_outbound_webhook_failures_total"
DISABLED = "whatsapp_hub_outbound_webhook_endpoints_disabled_total"
TOKEN = "scrape-me-7f3a"
APP_SECRET = "metrics-app-secret"
ALICE, BOB = "16505550101", "16505550102"


def _scrape(client, **headers) -> dict[tuple, float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/plain; version=1.0.0; charset=utf-8"
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def _value(scraped: dict, name: str, **labels) -> float | None:
    return scraped.get((name, tuple(sorted(labels.items()))))


def _series(scraped: dict, name: str) -> dict[tuple, float]:
    return {labels: value for (sample, labels), value in scraped.items() if sample == name}


@pytest.fixture
def scraper(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = []


# --- who may scrape --------------------------------------------------------------------------------------------


def test_metrics_are_off_unless_a_token_or_networks_are_set(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = []

    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything")

    assert (response.status_code, response.json()) == (404, {"detail": "Not found."})


@pytest.mark.parametrize(
    ("authorization", "status"),
    [(None, 403), ("Bearer wrong", 403), (f"Bearer {TOKEN}x", 403), (f"Token {TOKEN}", 403), (f"Bearer {TOKEN}", 200)],
)
def test_with_a_token_only_its_bearer_may_scrape(client, db, scraper, authorization, status):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    response = client.get("/metrics", **headers)

    assert response.status_code == status
    if status == 403:
        assert response.json() == {"detail": "A valid metrics token or an allowed address is required."}


@pytest.mark.parametrize(
    ("address", "status"), [("10.1.2.3", 200), ("192.168.0.7", 403), ("::ffff:10.9.9.9", 200), ("fd00::1", 403)]
)
def test_with_networks_only_their_addresses_may_scrape(client, db, settings, address, status):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = [__import__("ipaddress").ip_network("10.0.0.0/8")]

    assert client.get("/metrics", REMOTE_ADDR=address).status_code == status


def test_behind_a_proxy_the_forwarded_client_address_is_the_one_checked(client, db, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = [__import__("ipaddress").ip_network("10.0.0.0/8")]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}

    inside = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.0.0.5")
    outside = client.get("/metrics", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")

    assert (inside.status_code, outside.status_code) == (200, 403)


def test_with_a_token_and_networks_both_must_pass(client, db, settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = [__import__("ipaddress").ip_network("10.0.0.0/8")]
    bearer = f"Bearer {TOKEN}"

    assert client.get("/metrics", REMOTE_ADDR="10.0.0.2", HTTP_AUTHORIZATION=bearer).status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.0.0.2").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="172.16.0.2", HTTP_AUTHORIZATION=bearer).status_code == 403


# --- webhooks, ingest and deliveries -------------------------------------------------------------------------


def _deliver(fake_meta, *, duplicate: bool = False) -> list[int]:
    with TestCase.captureOnCommitCallbacks(execute=True):
        return [response.status_code for response in fake_meta.deliver_webhooks(duplicate=duplicate)]


def test_webhooks_ingest_and_deliveries_after_a_known_scenario(client, admin_client, org, fake_meta, scraper):
    number = WhatsAppNumberFactory(
        organization=org, phone_number_id=DEFAULT_PHONE_NUMBER_ID, waba_id=DEFAULT_WABA_ID, app_secret=APP_SECRET
    )
    fake_meta.webhook_url = django_client_target(client, f"/webhooks/meta/{org.pk}/")
    fake_meta.app_secret = APP_SECRET
    before = _scrape(client)

    # Two customers write; Meta delivers each webhook twice.
    fake_meta.send_inbound(ALICE, text="Hi")
    fake_meta.send_inbound(BOB, text="Hello")
    assert _deliver(fake_meta, duplicate=True) == [200] * 4
    alice, bob = (Conversation.objects.get(number=number, contact__wa_id=wa_id) for wa_id in (ALICE, BOB))
    # Replies: refused by Meta (131030); throttled once (130429) then accepted; accepted then failed (131026).
    fake_meta.fail_next(131030, to=ALICE)
    committed(admin_client.post, messages_url(alice), {"type": "text", "text": "Refused"}, format="json")
    fake_meta.fail_next(130429, to=BOB)
    committed(admin_client.post, messages_url(bob), {"type": "text", "text": "Read"}, format="json")
    fake_meta.fail_next_async(131026, to=BOB)
    committed(admin_client.post, messages_url(bob), {"type": "text", "text": "Undeliverable"}, format="json")
    # Meta's statuses: sent, delivered and read of the second reply; failed of the third. They are ingested in one
    # batch, where the second reply moves from sent to read at once: delivered is not counted for it.
    assert _deliver(fake_meta) == [200] * 4

    assert dict(Message.objects.filter(direction="outbound").values_list("text", "status")) == {
        "Refused": "failed",
        "Read": "read",
        "Undeliverable": "failed",
    }
    after = _scrape(client)
    counters = {
        ("whatsapp_hub_webhooks_received_total", (("source", "meta"),)): 6,
        ("whatsapp_hub_webhooks_duplicate_total", (("source", "meta"),)): 2,
        ("whatsapp_hub_webhooks_processed_total", ()): 6,
        ("whatsapp_hub_webhooks_failed_total", ()): 0,
        ("whatsapp_hub_webhooks_dead_lettered_total", ()): 0,
        ("whatsapp_hub_message_statuses_total", (("error_code", "none"), ("status", "sent"))): 2,
        ("whatsapp_hub_message_statuses_total", (("error_code", "none"), ("status", "delivered"))): 0,
        ("whatsapp_hub_message_statuses_total", (("error_code", "none"), ("status", "read"))): 1,
        ("whatsapp_hub_message_statuses_total", (("error_code", "none"), ("status", "failed"))): 0,
        ("whatsapp_hub_message_statuses_total", (("error_code", "131030"), ("status", "failed"))): 1,
        ("whatsapp_hub_message_statuses_total", (("error_code", "131026"), ("status", "failed"))): 1,
        ("whatsapp_hub_delivery_retries_total", (("error_code", "130429"),)): 1,
    }
    assert {series: after[series] - before.get(series, 0) for series in counters} == counters
    assert _series(after, "whatsapp_hub_webhook_events") == {
        (("status", "pending"),): 0,
        (("status", "processing"),): 0,
        (("status", "failed"),): 0,
        (("status", "dead"),): 0,
    }
    assert _value(after, "whatsapp_hub_ingest_lag_seconds") == 0
    assert _series(after, "whatsapp_hub_metrics_source_up") == {(("source", "database"),): 1, (("source", "redis"),): 1}


def test_failed_attempts_and_dead_letters_are_counted(client, org, scraper, frozen):
    events = [
        WebhookEvent.objects.create(organization=org, source="meta", body={}, dedupe_key=f"k{n}", status="processing")
        for n in range(2)
    ]
    events[1].attempts = WebhookEvent.MAX_ATTEMPTS
    before = _scrape(client)

    for event in events:
        ingest.processor._record_failure(event, ValueError("poison"))
    WebhookEvent.objects.create(
        organization=org,
        source="meta",
        body={},
        dedupe_key="interrupted",
        status="processing",
        attempts=WebhookEvent.MAX_ATTEMPTS,
        claimed_at=timezone.now() - timedelta(hours=1),
    )
    ingest.webhook_events_sweep()

    after = _scrape(client)
    assert after[("whatsapp_hub_webhooks_failed_total", ())] - before[("whatsapp_hub_webhooks_failed_total", ())] == 3
    dead = ("whatsapp_hub_webhooks_dead_lettered_total", ())
    assert after[dead] - before[dead] == 2
    assert _series(after, "whatsapp_hub_webhook_events") == {
        (("status", "pending"),): 0,
        (("status", "processing"),): 0,
        (("status", "failed"),): 1,
        (("status", "dead"),): 2,
    }


def test_events_waiting_show_in_the_backlog_and_the_ingest_lag(client, org, scraper, frozen):
    now = timezone.now()
    for age, status in ((90, "pending"), (30, "pending"), (200, "processing"), (1000, "processed")):
        WebhookEvent.objects.create(
            organization=org,
            source="waha",
            body={},
            dedupe_key=f"k{age}",
            status=status,
            received_at=now - timedelta(seconds=age),
        )

    scraped = _scrape(client)

    assert _series(scraped, "whatsapp_hub_webhook_events") == {
        (("status", "pending"),): 2,
        (("status", "processing"),): 1,
        (("status", "failed"),): 0,
        (("status", "dead"),): 0,
    }
    assert _value(scraped, "whatsapp_hub_ingest_lag_seconds") == 200


# --- campaigns ----------------------------------------------------------------------------------------------------


def test_each_running_campaign_shows_its_send_rate_against_its_numbers_throughput(
    client, org, scraper, ops_redis, frozen
):
    number = WhatsAppNumberFactory(organization=org, throughput=80)
    started = timezone.now() - timedelta(minutes=5)
    running, young = (
        Campaign.objects.create(
            organization=org,
            number=number,
            name=name,
            template_name="promo",
            language="en_US",
            status="running",
            started_at=at,
        )
        for name, at in (("Spring", started), ("Summer", timezone.now() - timedelta(seconds=9)))
    )
    Campaign.objects.create(organization=org, number=number, name="Draft", template_name="promo", language="en_US")
    before = _scrape(client)

    metrics.campaign_sends(running.pk, ["sent"] * 40 + ["failed"] * 2 + ["throttled"] * 3)
    metrics.campaign_sends(young.pk, ["sent"] * 20)
    after = _scrape(client)

    labels = {
        campaign.pk: (("campaign_id", str(campaign.pk)), ("number_id", str(number.pk))) for campaign in (running, young)
    }
    assert _series(after, "whatsapp_hub_campaign_throughput") == {labels[running.pk]: 80, labels[young.pk]: 80}
    assert _series(after, "whatsapp_hub_campaign_paced_rate") == {
        labels[running.pk]: round(paced_rate(80), 3),
        labels[young.pk]: round(paced_rate(80), 3),
    }
    # 45 sends over the last 60 s; 20 over the 10 s the young one has run (its current second included).
    assert _series(after, "whatsapp_hub_campaign_send_rate") == {labels[running.pk]: 0.75, labels[young.pk]: 2.0}
    sends = {
        outcome: after[("whatsapp_hub_campaign_sends_total", (("outcome", outcome),))]
        - before[("whatsapp_hub_campaign_sends_total", (("outcome", outcome),))]
        for outcome in ("sent", "failed", "retry", "throttled", "unknown")
    }
    assert sends == {"sent": 60, "failed": 2, "retry": 0, "throttled": 3, "unknown": 0}


def test_campaign_send_rates_without_redis_are_this_processs_own(client, org, scraper, settings, frozen):
    settings.REDIS_URL = None
    number = WhatsAppNumberFactory(organization=org, throughput=20)
    campaign = Campaign.objects.create(
        organization=org,
        number=number,
        name="Local",
        template_name="promo",
        language="en_US",
        status="running",
        started_at=timezone.now() - timedelta(hours=1),
    )

    metrics.campaign_sends(campaign.pk, ["sent"] * 30)

    scraped = _scrape(client)
    assert _series(scraped, "whatsapp_hub_campaign_send_rate") == {
        (("campaign_id", str(campaign.pk)), ("number_id", str(number.pk))): 0.5
    }
    assert _series(scraped, "whatsapp_hub_metrics_source_up") == {(("source", "database"),): 1}
    assert _series(scraped, "whatsapp_hub_celery_queue_length") == {}


# --- Celery: queues, workers, beat -------------------------------------------------------------------------------


def test_queue_lengths_and_unacked_messages_are_read_from_the_broker(client, db, scraper, ops_redis):
    ops_redis.rpush("celery", "a", "b", "c")
    ops_redis.rpush("celery\x06\x169", "high")
    ops_redis.hset("unacked", mapping={"tag1": "x", "tag2": "y"})

    scraped = _scrape(client)

    assert _series(scraped, "whatsapp_hub_celery_queue_length") == {(("queue", "celery"),): 4}
    assert _value(scraped, "whatsapp_hub_celery_unacked_messages") == 2


def test_worker_heartbeat_ages_and_beats_last_run_are_shown(client, db, scraper, with_workers, frozen):
    keys.worker_heartbeat("celery@a", now=time.time() - 4)
    keys.worker_heartbeat("celery@b", now=time.time() - 75)
    keys.beat_ran(now=time.time() - 42)

    scraped = _scrape(client)

    assert _series(scraped, "whatsapp_hub_worker_heartbeat_age_seconds") == {
        (("worker", "celery@a"),): 4,
        (("worker", "celery@b"),): 75,
    }
    assert _value(scraped, "whatsapp_hub_beat_last_run_age_seconds") == 42


def test_with_redis_down_the_database_figures_are_still_scraped(client, db, scraper, settings, closed_port):
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port}/0"

    scraped = _scrape(client)

    assert _series(scraped, "whatsapp_hub_metrics_source_up") == {
        (("source", "database"),): 1,
        (("source", "redis"),): 0,
    }
    assert _value(scraped, "whatsapp_hub_ingest_lag_seconds") == 0
    assert _series(scraped, "whatsapp_hub_celery_queue_length") == {}


# --- outbound webhooks ------------------------------------------------------------------------------------------


def test_outbound_webhook_attempts_failures_and_disabled_endpoints_are_counted(
    client, org, settings, scraper, webhook_receiver, scripted_server, frozen
):
    scripted_server.default = Response(500, b"down", "text/plain")
    receiving_endpoint(settings, webhook_receiver, org)
    failing = receiving_endpoint(settings, scripted_server, org, path="/failing")
    # Failing for two days already: its next failure disables it.
    doomed = receiving_endpoint(
        settings,
        scripted_server,
        org,
        path="/doomed",
        consecutive_failures=5,
        failing_since=timezone.now() - timedelta(days=2),
    )
    WebhookDeliveryFactory(  # its last try is due
        endpoint=failing,
        status="retrying",
        attempts=webhook_services.MAX_ATTEMPTS - 1,
        next_attempt_at=timezone.now(),
        response_status=None,
        error_code="",
    )
    before = _scrape(client)

    committed(automation_events.emit, organization_id=org.pk, type="message.received", data={"message_id": 7})
    committed(webhook_services.webhook_deliveries_sweep)

    doomed.refresh_from_db()
    assert (doomed.active, len(webhook_receiver.requests), len(scripted_server.requests)) == (False, 1, 3)
    after = _scrape(client)
    attempts = {
        outcome: after[(ATTEMPTS, (("outcome", outcome),))] - before[(ATTEMPTS, (("outcome", outcome),))]
        for outcome in OUTCOMES
    }
    assert attempts == {
        "succeeded": 1,
        "http_status": 3,
        "timeout": 0,
        "connection": 0,
        "address_not_allowed": 0,
        "redirect": 0,
    }
    assert [after[(name, ())] - before[(name, ())] for name in (GIVEN_UP, DISABLED)] == [1, 1]


def test_the_outbound_webhook_outcomes_are_the_deliveries_errors():
    errors = {error for error in WebhookDelivery.Error.values if error != WebhookDelivery.Error.ENDPOINT_DISABLED}

    assert set(OUTCOMES) == {"succeeded", *errors}


# --- websockets -------------------------------------------------------------------------------------------------


def _open_sockets() -> int:
    metrics.tallies.flush()
    return metrics.tallies.open_sockets()


@pytest.mark.django_db(transaction=True)
def test_open_websockets_are_counted_while_open(client, admin_membership, scraper):
    cookie = session_cookie(admin_membership.user)

    async def scenario():
        first, _ = await open_inbox(cookie=cookie)
        second, _ = await open_inbox(cookie=cookie)
        both = await in_test_thread(_open_sockets)()
        await first.disconnect()
        one = await in_test_thread(_open_sockets)()
        await second.disconnect()
        return both, one

    assert run(scenario) == (2, 1)
    assert _value(_scrape(client), "whatsapp_hub_websocket_connections") == 0


# --- several processes, on any machine -------------------------------------------------------------------------

CHILD = """
import sys, time
import django
django.setup()
from whatsapp_hub.ops import metrics
webhooks, sockets, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
metrics.FLUSH_INTERVAL = 0.1
for _ in range(webhooks):
    metrics.webhook_stored("meta", stored=True)
for _ in range(sockets):
    metrics.websocket_opened()
metrics.tallies.flush()
print("ready", flush=True)
if mode == "stay":
    time.sleep(120)
"""


def _until(condition, *, timeout: float = 20, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_processes_share_their_counters_and_a_dead_ones_sockets_drop_out(client, db, scraper, ops_redis, monkeypatch):
    """Two processes (gunicorn's, daphne's, on any machine) count into the same Redis; one ends with sockets still
    counted (killed), the other stays: its count is written again and again, the ended one's goes stale."""
    monkeypatch.setattr(metrics, "SOCKETS_STALE_AFTER", 1.0)
    received = ("whatsapp_hub_webhooks_received_total", (("source", "meta"),))
    before = _scrape(client)[received]

    def start(webhooks: int, sockets: int, mode: str) -> subprocess.Popen:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(webhooks), str(sockets), mode],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout.readline().strip() == "ready"
        return child

    ended = start(3, 2, "exit")
    ended.wait(timeout=30)
    alive = start(2, 1, "stay")
    try:
        assert _scrape(client)[received] - before == 5
        _until(lambda: _open_sockets() == 1, what="the ended process's sockets to drop out")
        alive.send_signal(signal.SIGKILL)
        alive.wait(timeout=30)
        _until(lambda: _open_sockets() == 0, what="the killed process's socket to drop out")
    finally:
        if alive.poll() is None:
            alive.kill()
    assert _scrape(client)[received] - before == 5


def test_a_forked_process_flushes_its_own_counts_not_its_parents(db, ops_redis):
    """Celery's pool processes and gunicorn's workers are forked: a child must not count again what its parent has
    not flushed yet."""
    field = metrics.WEBHOOKS_RECEIVED.field(("waha",))
    metrics.tallies.flush()
    before = metrics.tallies.totals().get(field, 0)
    metrics.webhook_stored("waha", stored=True)  # this process's, not flushed yet

    child = os.fork()
    if child == 0:
        try:
            metrics.webhook_stored("waha", stored=True)
            metrics.webhook_stored("waha", stored=True)
            metrics.tallies.flush()
        finally:
            os._exit(0)
    os.waitpid(child, 0)
    metrics.tallies.flush()

    assert metrics.tallies.totals()[field] - before == 3
