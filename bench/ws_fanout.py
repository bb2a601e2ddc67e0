"""Benchmark: live-inbox fan-out, from a webhook's POST to receipt on every websocket client of the organization.

Starts the hub on PostgreSQL + Redis as production runs it (gunicorn for HTTP, a Celery worker for the ingest,
daphne for `/ws/inbox/`), connects `--clients` websocket clients of one organization (each with a one-time ticket
from `POST /api/v1/auth/ws-ticket`), posts signed Meta webhooks carrying one text message each at `--rate`
messages per second for `--seconds`, and prints the latency from each webhook's POST to its `message.created`
frame on every client (p50, p99, max) and the frames lost. Beside it, as baselines from the same run and at the
same rate to as many clients:

- a raw Redis pub/sub round trip (redis-py asyncio: one publisher, one subscriber connection per client);
- a bare Channels consumer on daphne with the same Redis channel layer, doing nothing but `group_send` fan-out
  (bench/bare_consumer.py), published to from this process.

    .venv/bin/python bench/ws_fanout.py [--clients 200] [--rate 10] [--seconds 30]

Not a test: nothing is asserted; it prints figures and ratios. Target: p99 under 150 ms through the product.
"""

import argparse
import asyncio
import hmac
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import redis.asyncio as aioredis
import requests
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.webhook_ingest import (
    APP_SECRET,
    ROOT,
    environment,
    log_errors,
    prepare,
    text_messages,
)

HTTP_PORT, WS_PORT, BARE_PORT = 8601, 8602, 8603
ASGI_APP = "whatsapp_hub.asgi:application"
API_KEY_SCRIPT = """
from accounts.models import Organization, Role
from accounts.services import api_key_create
print(api_key_create(organization=Organization.objects.get(slug="bench"), name="bench", role=Role.ADMIN, actor=None)[1])
"""


def percentiles(latencies: list[float]) -> dict:
    if not latencies:
        return {"p50": float("nan"), "p99": float("nan"), "max": float("nan")}
    ordered = sorted(latencies)
    return {
        "p50": statistics.median(ordered) * 1000,
        "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
        "max": ordered[-1] * 1000,
    }


def wait_for_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=5)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    sys.exit(f"{url} did not answer within {timeout} s")


class Receivers:
    """`count` websocket clients; records when each saw each numbered message (and, for the product, when the hub
    wrote it: `number_of` may answer (number, written at as a Unix time) pairs)."""

    def __init__(self, count: int):
        self.count = count
        self.seen: dict[int, list[float]] = {}
        self.written: dict[int, float] = {}
        self.fan_out: list[float] = []
        self.sockets: list = []

    async def connect(self, url_for, origin: str) -> None:
        for index in range(self.count):
            socket = await websockets.connect(await url_for(index), origin=origin, max_queue=None)
            self.sockets.append(socket)

    async def listen(self, number_of, stop: asyncio.Event) -> None:
        async def one(socket):
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(socket.recv(), 0.5)
                except TimeoutError:
                    continue
                received, wall = time.monotonic(), time.time()
                for number in number_of(json.loads(raw)):
                    if isinstance(number, tuple):
                        number, written = number
                        self.written[number] = written
                        self.fan_out.append(wall - written)
                    self.seen.setdefault(number, []).append(received)

        await asyncio.gather(*(one(socket) for socket in self.sockets))

    async def close(self) -> None:
        await asyncio.gather(*(socket.close() for socket in self.sockets), return_exceptions=True)


async def fan_out(receivers: Receivers, url_for, origin: str, number_of, send, *, rate: float, seconds: float) -> dict:
    """Connect the receivers, call `send(n)` for n = 0, 1, … at `rate` per second (in a thread: a send may block),
    wait for the stragglers, and return the latencies from each send's start to each receipt."""
    await receivers.connect(url_for, origin)
    stop = asyncio.Event()
    listening = asyncio.create_task(receivers.listen(number_of, stop))
    await asyncio.sleep(0.5)
    sent_at: dict[int, float] = {}
    sent_wall: dict[int, float] = {}
    total = int(rate * seconds)

    def sender():
        start = time.monotonic()
        for n in range(total):
            time.sleep(max(0.0, start + n / rate - time.monotonic()))
            sent_at[n], sent_wall[n] = time.monotonic(), time.time()
            send(n)

    await asyncio.to_thread(sender)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and sum(len(v) for v in receivers.seen.values()) < total * receivers.count:
        await asyncio.sleep(0.05)
    stop.set()
    await listening
    await receivers.close()
    latencies = [at - sent_at[n] for n, ats in receivers.seen.items() if n in sent_at for at in ats]
    result = {**percentiles(latencies), "expected": total * receivers.count, "received": len(latencies)}
    if receivers.written:
        result["ingest"] = percentiles([written - sent_wall[n] for n, written in receivers.written.items()])
        result["fan_out"] = percentiles(receivers.fan_out)
    return result


async def redis_baseline(args) -> dict:
    """One publisher, one subscriber connection per client, on the same Redis."""
    url = "redis://127.0.0.1:6379/12"
    publisher = aioredis.from_url(url)
    subscribers = [aioredis.from_url(url).pubsub() for _ in range(args.clients)]
    for pubsub in subscribers:
        await pubsub.subscribe("bench")
    seen: list[float] = []
    sent_at: dict[int, float] = {}
    stop = asyncio.Event()

    async def listen(pubsub):
        while not stop.is_set():
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
            if message:
                seen.append(time.monotonic() - sent_at[int(message["data"])])

    listening = asyncio.gather(*(listen(pubsub) for pubsub in subscribers))
    total = int(args.rate * args.seconds)
    start = time.monotonic()
    for n in range(total):
        await asyncio.sleep(max(0.0, start + n / args.rate - time.monotonic()))
        sent_at[n] = time.monotonic()
        await publisher.publish("bench", str(n))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(seen) < total * args.clients:
        await asyncio.sleep(0.05)
    stop.set()
    await listening
    for pubsub in subscribers:
        await pubsub.aclose()
    await publisher.aclose()
    return {**percentiles(seen), "expected": total * args.clients, "received": len(seen)}


def bare_channels(args, env: dict, logs: Path) -> dict:
    """The bare consumer on daphne; this process publishes with channels-redis' group_send."""
    import django

    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "whatsapp_hub.settings"
    django.setup()
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    ports = [BARE_PORT + 10 * index for index in range(args.daphnes)]
    log = (logs / "bare-daphne.log").open("w")
    daphnes = [
        subprocess.Popen(
            [
                str(Path(sys.executable).parent / "daphne"),
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "bench.bare_consumer:application",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for port in ports
    ]
    try:
        for port in ports:
            wait_for_http(f"http://127.0.0.1:{port}/")

        async def url_for(index):
            return f"ws://127.0.0.1:{ports[index % len(ports)]}/"

        def send(n):
            async_to_sync(layer.group_send)("bench", {"type": "bench.event", "n": n})

        return asyncio.run(
            fan_out(Receivers(args.clients), url_for, f"http://127.0.0.1:{BARE_PORT}",
                    lambda frame: [frame["n"]], send, rate=args.rate, seconds=args.seconds)
        )  # fmt: skip
    finally:
        for daphne in daphnes:
            daphne.terminate()
        for daphne in daphnes:
            daphne.wait(timeout=30)
        log.close()


def product(args, env: dict, logs: Path) -> dict:
    """The whole product: webhook POST -> gunicorn -> PostgreSQL -> Celery ingest -> Redis -> daphne -> clients."""
    org_id, _ = prepare(env)
    out = subprocess.run([sys.executable, "manage.py", "shell", "-c", API_KEY_SCRIPT], cwd=ROOT, env=env,
                         capture_output=True, check=True)  # fmt: skip
    api_key = out.stdout.decode().strip().splitlines()[-1]
    bin_dir = Path(sys.executable).parent
    ports = [WS_PORT + 10 * index for index in range(args.daphnes)]
    commands = {
        "gunicorn": [str(bin_dir / "gunicorn"), "whatsapp_hub.wsgi", "-w", "2", "-b", f"127.0.0.1:{HTTP_PORT}"],
        "celery": [str(bin_dir / "celery"), "-A", "whatsapp_hub", "worker", "-l", "WARNING", "-c", "1"],
        **{
            f"daphne-{port}": [
                str(bin_dir / "daphne"),
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "whatsapp_hub.asgi:application",
            ]
            for port in ports
        },
    }
    log_files = {name: (logs / f"{name}.log").open("w") for name in commands}
    servers = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=log_files[name], stderr=subprocess.STDOUT)
        for name, command in commands.items()
    ]
    http = requests.Session()
    url = f"http://127.0.0.1:{HTTP_PORT}/webhooks/meta/{org_id}/"
    try:
        wait_for_http(f"http://127.0.0.1:{HTTP_PORT}/sign-in/")
        for port in ports:
            wait_for_http(f"http://127.0.0.1:{port}/sign-in/")
        time.sleep(2)  # let the Celery worker connect to the broker

        async def url_for(index):
            response = await asyncio.to_thread(
                http.post, f"http://127.0.0.1:{HTTP_PORT}/api/v1/auth/ws-ticket", headers={"X-API-Key": api_key}
            )
            response.raise_for_status()
            return f"ws://127.0.0.1:{ports[index % len(ports)]}/ws/inbox/?ticket={response.json()['ticket']}"

        def number_of(frame: dict) -> list[int]:
            if frame.get("type") == "events":  # a push's events in one frame
                return [number for event in frame["events"] for number in number_of(event)]
            if frame.get("type") != "message.created":
                return []
            items = frame["data"]["messages"]
            return [
                (
                    int(item["provider_message_id"].rsplit(".", 1)[1]),
                    datetime.fromisoformat(item["created_at"]).timestamp(),
                )
                for item in items
            ]

        rng = random.Random(7)

        def send(n):
            body = json.dumps(text_messages(rng, n, 1)).encode()
            signature = hmac.new(APP_SECRET.encode(), body, "sha256").hexdigest()
            response = http.post(url, data=body, headers={"Content-Type": "application/json",
                                                         "X-Hub-Signature-256": f"sha256={signature}"})  # fmt: skip
            response.raise_for_status()

        result = asyncio.run(
            fan_out(Receivers(args.clients), url_for, f"http://127.0.0.1:{WS_PORT}", number_of, send,
                    rate=args.rate, seconds=args.seconds)
        )  # fmt: skip
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)
        for log in log_files.values():
            log.close()
    result["errors"] = {name: log_errors(logs / f"{name}.log") for name in commands}
    return result


def line(name: str, result: dict, baseline: dict | None = None) -> str:
    lost = result["expected"] - result["received"]
    text = (
        f"{name:<28} p50 {result['p50']:7.1f} ms   p99 {result['p99']:7.1f} ms   max {result['max']:7.1f} ms   "
        f"frames {result['received']:>6}/{result['expected']:<6} lost {lost}"
    )
    if baseline:
        text += f"   p99 ratio {result['p99'] / baseline['p99']:.2f}"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rate", type=float, default=10.0, help="webhooks (one message each) per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--daphnes", type=int, default=1, help="daphne processes; the clients are spread over them")
    args = parser.parse_args()
    env = {**environment(HTTP_PORT), "ALLOWED_HOSTS": "127.0.0.1", "REDIS_MAX_CONNECTIONS": "4000"}
    logs = Path(tempfile.mkdtemp(prefix="ws-fanout-"))
    print(f"{args.clients} clients, {args.rate:g} messages/s for {args.seconds:g} s "
          f"({args.clients * args.rate:g} frames/s); server logs in {logs}")  # fmt: skip

    redis_result = asyncio.run(redis_baseline(args))
    print(line("raw Redis pub/sub", redis_result))
    bare = bare_channels(args, env, logs)
    print(line("bare Channels group_send", bare, redis_result))
    full = product(args, env, logs)
    print(line("product (webhook -> socket)", full, bare))
    for part, title in (("ingest", "  of which POST -> row written"), ("fan_out", "  of which row written -> socket")):
        print(f"{title:<28} p50 {full[part]['p50']:7.1f} ms   p99 {full[part]['p99']:7.1f} ms")
    for name, errors in full.pop("errors").items():
        if errors:
            print(f"{name}: {len(errors)} error lines, first: {errors[0]}")


if __name__ == "__main__":
    main()
