"""The request id: taken from the proxy or made up, returned, and carried from a webhook into the ingest task's log
lines, its push through the channel layer and the socket's log line; across the broker to a real worker."""

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from celery import Celery
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import connection

from messaging import realtime
from messaging.models import WebhookEvent
from messaging.services import ingest
from tests.messaging.inbox_support import inbox_pushes
from tests.messaging.ingest_support import cloud_numbers, meta_payload, post_meta
from tests.messaging.socket_support import db as in_test_thread
from tests.messaging.socket_support import open_inbox, run, session_cookie
from whatsapp_hub.ops import context
from whatsapp_hub.ops.logs import RequestIdFilter

ROOT = Path(__file__).resolve().parents[2]
HOOK_ID = "meta-delivery-0001"


class _Records(logging.Handler):
    """What the console handler would write: records through the request-id filter."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.addFilter(RequestIdFilter())
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def lines(self, logger: str) -> list[tuple[str, str]]:
        return [(record.getMessage(), record.request_id) for record in self.records if record.name == logger]


@pytest.fixture
def records():
    handler = _Records()
    root = logging.getLogger()
    consumers = logging.getLogger("messaging.consumers")
    levels = root.level, consumers.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    consumers.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(levels[0])
    consumers.setLevel(levels[1])


def test_a_request_without_an_id_gets_a_new_one_in_its_answer(client):
    first, second = client.get("/api/v1/health")["X-Request-ID"], client.get("/api/v1/health")["X-Request-ID"]

    assert all(len(value) == 32 and int(value, 16) >= 0 for value in (first, second))
    assert first != second


@pytest.mark.parametrize("given", ["b1946ac92492d2347c6235b4d2611184", "req-7:web.1", "Root=1-67891233-abcdef012345"])
def test_a_well_formed_id_from_the_proxy_is_kept(client, given):
    assert client.get("/api/v1/health", HTTP_X_REQUEST_ID=given)["X-Request-ID"] == given


@pytest.mark.parametrize("given", ["", "two words", "a" * 129, "line\nbreak", "x,y", "-leading", "café", "<script>"])
def test_a_malformed_id_is_replaced(client, given):
    returned = client.get("/api/v1/health", HTTP_X_REQUEST_ID=given)["X-Request-ID"]

    assert returned != given
    assert len(returned) == 32


def test_error_answers_carry_the_id_and_their_log_lines_name_it(client, records):
    response = client.get("/api/v1/no-such-route", HTTP_X_REQUEST_ID="req-404")

    assert (response.status_code, response["X-Request-ID"]) == (404, "req-404")
    assert ("Not Found: /api/v1/no-such-route", "req-404") in records.lines("django.request")


def test_a_webhooks_id_follows_its_message_through_the_task_and_the_push(client, org, records):
    cloud_numbers(org)
    pushes = inbox_pushes(org.pk)

    response = post_meta(client, org.pk, meta_payload("text"), HTTP_X_REQUEST_ID=HOOK_ID)

    assert (response.status_code, response["X-Request-ID"]) == (200, HOOK_ID)
    assert WebhookEvent.objects.get().request_id == HOOK_ID
    assert ("ingested 1 webhook events", HOOK_ID) in records.lines("messaging.services.ingest.processor")
    assert (f"pushed 2 events to org.{org.pk} (seq 1-2)", HOOK_ID) in records.lines("messaging.realtime")
    [push] = pushes(1)
    assert (push["request_id"], [event["event"] for event in push["events"]]) == (
        HOOK_ID,
        ["message.created", "conversation.updated"],
    )


def test_a_batch_names_the_ids_of_its_webhooks(client, org, records):
    cloud_numbers(org)
    cache.add(ingest.SCHEDULED_KEY, 1, timeout=60)  # a drain is queued already: the webhooks wait for it
    for request_id, name in (("hook-a", "text"), ("hook-b", "image"), ("hook-a", "location")):
        assert post_meta(client, org.pk, meta_payload(name), HTTP_X_REQUEST_ID=request_id).status_code == 200

    assert ingest.webhook_events_process_batch() == 3

    assert ("ingested 3 webhook events", "hook-a,hook-b") in records.lines("messaging.services.ingest.processor")


@pytest.mark.django_db(transaction=True)
def test_the_socket_logs_the_push_under_its_request_id(admin_membership, org, records):
    cookie = session_cookie(admin_membership.user)

    def push() -> None:
        with context.bound("push-req-7"):
            realtime.publish(
                org.pk, [("conversation.updated", {"conversations": [{"id": 1}]}, realtime.ORGANIZATION_WIDE)]
            )

    async def scenario():
        socket, _ = await open_inbox(cookie=cookie)
        await in_test_thread(push)()
        return await socket.receive_json_from(timeout=5)

    frame = run(scenario)

    assert frame["type"] == "conversation.updated"
    [(line, request_id)] = records.lines("messaging.consumers")
    assert line.startswith("socket ") and line.endswith(": events 1-1 received")
    assert request_id == "push-req-7"


# --- across the broker: a real worker ------------------------------------------------------------------------------


def _json_lines(path: Path) -> list[dict]:
    lines = []
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def _until(condition, *, timeout: float = 45, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.skipif(
    connection.vendor != "postgresql" or not django_settings.REDIS_URL,
    reason="a real worker needs the shared PostgreSQL database and Redis",
)
@pytest.mark.django_db(transaction=True)
def test_a_webhooks_id_reaches_the_workers_log_lines_in_json(client, org, tmp_path):
    cloud_numbers(org)
    cache.add(ingest.SCHEDULED_KEY, 1, timeout=60)  # the webhook queues no drain: the worker's is sent below
    assert post_meta(client, org.pk, meta_payload("text"), HTTP_X_REQUEST_ID=HOOK_ID).status_code == 200
    event = WebhookEvent.objects.get()
    assert (event.status, event.request_id) == ("pending", HOOK_ID)

    db = connection.settings_dict
    credentials = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "whatsapp_hub.settings",
        "DATABASE_URL": f"postgres://{credentials}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "DATABASE_POOL": "0",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "LOG_FORMAT": "json",
    }
    log = tmp_path / "worker.log"
    command = [sys.executable, "-m", "celery", "-A", "whatsapp_hub", "worker", "--pool=solo", "--loglevel=INFO"]
    command += ["--hostname=ops@%h", "--without-gossip", "--without-mingle"]
    broker = Celery(broker=django_settings.REDIS_URL, set_as_current=False)
    with log.open("w") as output:
        worker = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        with context.bound("task-sender-9"):
            broker.send_task("messaging.tasks.ingest.process_webhook_events")
        _until(lambda: WebhookEvent.objects.get().status == "processed", what="the worker's ingest")
        _until(lambda: any(line["logger"] == "celery.app.trace" for line in _json_lines(log)), what="the task's end")
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        broker.close()

    lines = [
        (line["logger"], line["message"], line["request_id"])
        for line in _json_lines(log)
        if line["logger"] in ("messaging.services.ingest.processor", "messaging.realtime", "celery.app.trace")
    ]
    # The batch's work and its push (after its commit) under the webhook's id; the task under its sender's.
    assert lines[:3] == [
        ("messaging.realtime", f"pushed 2 events to org.{org.pk} (seq 1-2)", HOOK_ID),
        ("messaging.services.ingest.processor", "ingested 1 webhook events", HOOK_ID),
        ("celery.app.trace", lines[2][1], "task-sender-9"),
    ]
    assert lines[2][1].startswith("Task messaging.tasks.ingest.process_webhook_events[")
    assert " succeeded in " in lines[2][1]
