"""GET /api/v1/health (liveness) and GET /api/v1/health/ready (readiness), with each dependency down.

Redis and the channel layer are taken down by pointing them at a closed port; the database by a process of its own
whose DATABASE_URL names one; the worker and beat by their heartbeats in Redis (absent, or old); the ingest lag by a
webhook event left pending."""

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from messaging.models import WebhookEvent
from tests.factories import OrganizationFactory
from whatsapp_hub.ops import health, keys

ROOT = Path(__file__).resolve().parents[2]
NO_REDIS = "No REDIS_URL: the cache, the channel layer and the tasks run in this process."
INLINE = "Tasks run inline (CELERY_TASK_ALWAYS_EAGER): no worker or beat is needed."


def _ready(client, **headers) -> tuple[int, str, dict]:
    response = client.get("/api/v1/health/ready", **headers)
    body = response.json()
    return response.status_code, body["status"], body["checks"]


def _statuses(checks: dict) -> dict:
    return {name: check["status"] for name, check in checks.items()}


def _redis_down(settings, port: int) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"


def _channel_layer_down(settings, port: int) -> None:
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{port}/0"]},
        }
    }


def test_liveness_answers_from_the_process_alone(client):
    # No `db` fixture: a query would raise (pytest-django blocks the database).
    response = client.get("/api/v1/health")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert len(response["X-Request-ID"]) == 32


def test_readiness_in_the_embedded_default_reports_redis_worker_and_beat_not_configured(client, db, settings):
    settings.REDIS_URL = None
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

    status_code, status, checks = _ready(client)

    assert (status_code, status) == (200, "ok")
    assert _statuses(checks) == {
        "database": "ok",
        "redis": "not_configured",
        "channel_layer": "ok",
        "worker": "not_configured",
        "beat": "not_configured",
        "ingest_lag": "ok",
    }
    assert checks["redis"] == {"status": "not_configured", "required": True, "detail": NO_REDIS}
    assert checks["worker"] == {"status": "not_configured", "required": False, "detail": INLINE}
    assert checks["beat"] == {"status": "not_configured", "required": False, "detail": INLINE}


def test_readiness_is_ok_with_a_recent_worker_heartbeat_and_beat_run(client, db, with_workers, frozen):
    keys.worker_heartbeat("celery@web1", now=time.time() - 12)
    keys.worker_heartbeat("celery@web2", now=time.time() - 3600)  # gone an hour ago: not counted
    keys.beat_ran(now=time.time() - 30)

    status_code, status, checks = _ready(client)

    assert (status_code, status) == (200, "ok")
    assert set(_statuses(checks).values()) == {"ok"}
    assert checks["worker"] == {
        "status": "ok",
        "required": False,
        "seconds": checks["worker"]["seconds"],
        "workers": 1,
        "age_seconds": 12.0,
        "max_age_seconds": 60,
    }
    assert checks["beat"] == {
        "status": "ok",
        "required": False,
        "seconds": checks["beat"]["seconds"],
        "age_seconds": 30.0,
        "max_age_seconds": 180,
    }


def test_without_redis_the_hub_is_not_ready(client, db, settings, closed_port):
    _redis_down(settings, closed_port)

    status_code, status, checks = _ready(client)

    assert (status_code, status) == (503, "unavailable")
    assert checks["redis"]["status"] == "fail"
    assert checks["redis"]["required"] is True
    assert checks["redis"]["detail"] == "Unable to connect to Redis: Connection Error"
    assert _statuses(checks) == {
        "database": "ok",
        "redis": "fail",
        "channel_layer": "ok",  # the suite's channel layer has its own Redis address
        "worker": "not_configured",
        "beat": "not_configured",
        "ingest_lag": "ok",
    }


def test_a_failing_channel_layer_makes_the_hub_not_ready(client, db, settings, closed_port):
    _channel_layer_down(settings, closed_port)

    status_code, status, checks = _ready(client)

    assert (status_code, status) == (503, "unavailable")
    assert checks["channel_layer"] == {
        "status": "fail",
        "required": True,
        "seconds": checks["channel_layer"]["seconds"],
        "detail": "The channel layer refused a message.",
    }
    assert checks["redis"]["status"] == "ok"


def test_without_a_worker_heartbeat_the_hub_is_degraded_but_serves(client, db, with_workers):
    keys.beat_ran()

    status_code, status, checks = _ready(client)

    assert (status_code, status) == (200, "degraded")
    assert checks["worker"] == {
        "status": "fail",
        "required": False,
        "seconds": checks["worker"]["seconds"],
        "detail": "No Celery worker has sent a heartbeat.",
        "workers": 0,
        "age_seconds": None,
        "max_age_seconds": 60,
    }
    assert checks["beat"]["status"] == "ok"


def test_a_stale_worker_heartbeat_fails_its_check(client, db, with_workers, frozen):
    keys.worker_heartbeat("celery@web1", now=time.time() - 300)
    keys.beat_ran()

    status_code, status, checks = _ready(client)

    assert (status_code, status) == (200, "degraded")
    assert {name: checks["worker"][name] for name in ("status", "workers", "age_seconds", "detail")} == {
        "status": "fail",
        "workers": 0,
        "age_seconds": 300.0,
        "detail": "The last worker heartbeat is 300 s old (limit 60 s).",
    }


def test_a_check_listed_as_required_makes_its_failure_a_503(client, db, settings, with_workers):
    settings.HEALTH_REQUIRED_CHECKS = ["database", "redis", "channel_layer", "worker"]
    keys.beat_ran()

    status_code, status, checks = _ready(client)

    assert (status_code, status) == (503, "unavailable")
    assert (checks["worker"]["status"], checks["worker"]["required"]) == ("fail", True)


def test_a_stale_beat_fails_its_check(client, db, with_workers, frozen):
    keys.worker_heartbeat("celery@web1")
    keys.beat_ran(now=time.time() - 600)

    status_code, status, checks = _ready(client)

    assert (status_code, status) == (200, "degraded")
    assert {name: checks["beat"][name] for name in ("status", "age_seconds", "detail")} == {
        "status": "fail",
        "age_seconds": 600.0,
        "detail": "Celery beat last ran 600 s ago (limit 180 s).",
    }
    assert checks["worker"]["status"] == "ok"


def test_beat_that_never_ran_fails_its_check(client, db, with_workers):
    keys.worker_heartbeat("celery@web1")

    _, status, checks = _ready(client)

    assert status == "degraded"
    assert (checks["beat"]["status"], checks["beat"]["detail"]) == ("fail", "Celery beat has not run.")


@pytest.mark.django_db(transaction=True)
def test_webhook_events_waiting_beyond_the_threshold_fail_the_ingest_lag_check(client, frozen):
    org = OrganizationFactory()
    now = timezone.now()
    for age, status in ((600, "pending"), (900, "dead"), (30, "failed"), (5, "processed")):
        WebhookEvent.objects.create(
            organization=org,
            source="meta",
            body={},
            dedupe_key=f"k{age}",
            status=status,
            received_at=now - timedelta(seconds=age),
        )

    status_code, status, checks = _ready(client)

    assert (status_code, status) == (200, "degraded")
    assert checks["ingest_lag"] == {
        "status": "fail",
        "required": False,
        "seconds": checks["ingest_lag"]["seconds"],
        "detail": "Webhook events wait 600 s to be ingested (limit 120 s).",
        "lag_seconds": 600.0,  # the oldest pending one; the dead letter is not waiting for the ingest
        "threshold_seconds": 120,
    }


@pytest.mark.django_db(transaction=True)
def test_webhook_events_within_the_threshold_keep_the_ingest_lag_check_ok(client, frozen):
    org = OrganizationFactory()
    WebhookEvent.objects.create(
        organization=org, source="meta", body={}, dedupe_key="k", received_at=timezone.now() - timedelta(seconds=45)
    )

    _, _, checks = _ready(client)

    assert (checks["ingest_lag"]["status"], checks["ingest_lag"]["lag_seconds"]) == ("ok", 45.0)


def test_the_report_is_kept_for_the_cache_seconds_then_checked_again(client, db, settings, with_workers):
    settings.HEALTH_CACHE_SECONDS = 60
    keys.beat_ran()
    assert _ready(client)[2]["worker"]["status"] == "fail"

    keys.worker_heartbeat("celery@web1")
    assert _ready(client)[2]["worker"]["status"] == "fail"  # kept: a probe every second runs no check

    settings.HEALTH_CACHE_SECONDS = 0
    assert _ready(client)[2]["worker"]["status"] == "ok"


def test_the_database_unreachable_makes_readiness_503_while_liveness_answers(tmp_path, closed_port):
    """A process of its own, whose DATABASE_URL names a closed port (the embedded default otherwise)."""
    script = (
        "import django, json\n"
        "django.setup()\n"
        "from django.test import Client\n"
        "client = Client()\n"
        "live, ready = client.get('/api/v1/health'), client.get('/api/v1/health/ready')\n"
        "print(json.dumps([live.status_code, live.json(), ready.status_code, ready.json()]))\n"
    )
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("REDIS_URL", "CELERY_TASK_ALWAYS_EAGER", "DJANGO_SETTINGS_MODULE")
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="whatsapp_hub.settings",
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{closed_port}/hub",
        DATABASE_POOL="0",
        LOG_LEVEL="CRITICAL",
        LOCAL_KEYS_FILE=str(tmp_path / "keys.json"),
    )

    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 0, done.stderr
    live_status, live, ready_status, ready = json.loads(done.stdout.strip().splitlines()[-1])
    assert (live_status, live) == (200, {"status": "ok"})
    assert (ready_status, ready["status"]) == (503, "unavailable")
    assert {name: check["status"] for name, check in ready["checks"].items()} == {
        "database": "fail",
        "redis": "not_configured",
        "channel_layer": "ok",
        "worker": "not_configured",
        "beat": "not_configured",
        "ingest_lag": "fail",
    }
    assert ready["checks"]["database"]["detail"] == "connection failed"


def test_the_health_routes_are_public_unthrottled_and_documented_with_their_503(client, db):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()

    liveness, readiness = schema["paths"]["/api/v1/health"]["get"], schema["paths"]["/api/v1/health/ready"]["get"]
    assert [liveness.get("security"), readiness.get("security")] == [[{}], [{}]]
    assert sorted(liveness["responses"]) == ["200", "400"]
    assert sorted(readiness["responses"]) == ["200", "400", "503"]
    ready_schema = readiness["responses"]["503"]["content"]["application/json"]["schema"]
    assert ready_schema == {"$ref": "#/components/schemas/Readiness"}


def test_the_readiness_checks_are_the_ones_the_settings_name():
    from whatsapp_hub.ops.config import CHECKS

    assert tuple(health._planned()) == CHECKS


def test_under_asgi_the_probes_answer_and_return_the_request_id(async_client, settings, transactional_db):
    """The embedded default serves HTTP with daphne: the async middleware path, the checks' loop inside its own."""
    settings.REDIS_URL = None
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

    async def probe():
        live = await async_client.get("/api/v1/health", headers={"X-Request-ID": "asgi-live-1"})
        ready = await async_client.get("/api/v1/health/ready", headers={"X-Request-ID": "asgi-ready-1"})
        return live, ready

    live, ready = async_to_sync(probe)()

    assert (live.status_code, live.json(), live["X-Request-ID"]) == (200, {"status": "ok"}, "asgi-live-1")
    assert (ready.status_code, ready.json()["status"], ready["X-Request-ID"]) == (200, "ok", "asgi-ready-1")


def test_probes_over_plain_http_are_answered_not_redirected_to_https(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.REDIS_URL = None
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

    statuses = [client.get(path).status_code for path in ("/api/v1/health", "/api/v1/health/ready", "/api/v1/auth/me")]

    assert statuses == [200, 200, 301]
