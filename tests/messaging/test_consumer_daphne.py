"""The live inbox across processes, as deployed: two daphne servers on one PostgreSQL and one Redis; a webhook
posted to one reaches a socket opened on the other (the channel layer carries the push between them)."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from django.conf import settings
from django.db import connection
from websockets.sync.client import connect

from accounts.services import _issue_tokens
from tests.fakes import meta_signature
from tests.messaging.ingest_support import APP_SECRET, cloud_numbers, meta_bytes, meta_payload

ROOT = Path(__file__).resolve().parents[2]
# Seconds a server may take to start, and a frame to arrive.
STARTUP = 30
WAIT = 15


def _real_services() -> str | None:
    """Why this test cannot run here (None: it can)."""
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        return "needs PostgreSQL (DATABASE_URL): two servers share the test database"
    if not settings.REDIS_URL:
        return "needs Redis (REDIS_URL): the channel layer between two servers"
    return None


pytestmark = pytest.mark.skipif(_real_services() is not None, reason=_real_services() or "")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _child_environment() -> dict[str, str]:
    """The test run's environment (its keys, Redis), on the test database, with Celery tasks inline (the webhook's
    ingest runs in the server that took it)."""
    url = urlsplit(os.environ["DATABASE_URL"])
    database_url = urlunsplit(url._replace(path="/" + connection.settings_dict["NAME"]))
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url,
        "CELERY_TASK_ALWAYS_EAGER": "1",
        "PYTHONUNBUFFERED": "1",
    }


def _wait_for_port(port: int, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP
    while time.monotonic() < deadline:
        assert server.poll() is None, f"daphne exited:\n{log.read_text()}"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"daphne did not listen on {port} within {STARTUP} s:\n{log.read_text()}")


@pytest.fixture
def daphnes(transactional_db, tmp_path):
    """Two daphne servers (A, B) of the application on free ports: their base URLs."""
    servers, started = [], []
    try:
        for name in ("a", "b"):  # both start at once, then are waited for
            port, log = _free_port(), tmp_path / f"daphne-{name}.log"
            command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
            server = subprocess.Popen(
                [*command, "whatsapp_hub.asgi:application"],
                cwd=ROOT,
                env=_child_environment(),
                stdout=log.open("w"),
                stderr=subprocess.STDOUT,
            )
            servers.append(server)
            started.append((port, server, log))
        for port, server, log in started:
            _wait_for_port(port, server, log)
        yield [f"127.0.0.1:{port}" for port, _, _ in started]
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def test_a_webhook_taken_by_one_server_reaches_a_socket_on_another(daphnes, org, agent_membership):
    server_a, server_b = daphnes
    cloud_numbers(org)
    access, _ = _issue_tokens(user=agent_membership.user, membership=agent_membership)
    response = requests.post(
        f"http://{server_a}/api/v1/auth/ws-ticket", headers={"Authorization": f"Bearer {access}"}, timeout=WAIT
    )
    assert response.status_code == 201, response.text
    ticket = response.json()["ticket"]

    with connect(f"ws://{server_b}/ws/inbox/?ticket={ticket}", open_timeout=WAIT) as inbox:
        hello = json.loads(inbox.recv(timeout=WAIT))
        assert (hello["type"], hello["organization_id"]) == ("hello", org.pk)
        raw = meta_bytes(meta_payload("text"))
        response = requests.post(
            f"http://{server_a}/webhooks/meta/{org.pk}/",
            data=raw,
            headers={"Content-Type": "application/json", "X-Hub-Signature-256": meta_signature(raw, APP_SECRET)},
            timeout=WAIT,
        )
        assert response.status_code == 200, response.text
        deadline = time.monotonic() + WAIT
        events: list[dict] = []
        while not any(event["type"] == "message.created" for event in events) and time.monotonic() < deadline:
            frame = json.loads(inbox.recv(timeout=deadline - time.monotonic()))
            events += frame["events"] if frame["type"] == "events" else [frame]  # a push's events travel together
        [frame] = [event for event in events if event["type"] == "message.created"]

    assert (frame["type"], frame["first_seq"], frame["seq"]) == ("message.created", hello["seq"] + 1, hello["seq"] + 1)
    [message] = frame["data"]["messages"]
    assert (message["direction"], message["text"]) == ("inbound", "Does it come in another color?")
