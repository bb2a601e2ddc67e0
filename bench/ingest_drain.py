"""Benchmark: the ingest drain's CPU and wall time per message, in-process, against plain psycopg writing the same rows.

Times `webhook_events_process_batch` (claim, parse, contacts, conversations and messages written, statuses moved,
events marked processed, commit, then the live-inbox pushes to Redis) on batches of pending webhook events in a
fresh PostgreSQL database, for two loads:

1. every webhook carries 10 text messages from 2,000 customers (a batch of 200 events: 2,000 messages);
2. the mix of bench/webhook_ingest.py: single messages (70 %), statuses of earlier outbound messages (23 %) and
   webhooks of 50 messages (2 %), its identical redeliveries left out (the receiving view drops them).

The CPU is this process's (the drain's own work, whatever else the machine runs); the wall time adds PostgreSQL's
and Redis' work and their round trips. The baseline, in the same run: plain psycopg writing each batch's rows (its
new messages into a bare table with COPY, its statuses as UPDATEs with executemany), one transaction per batch.
Then where the drain's CPU goes, step by step. The process is set up as a Celery worker process is once started (its
startup objects frozen out of the garbage collector's way, whatsapp_hub/celery.py).

    .venv/bin/python bench/ingest_drain.py [--batches 10] [--events 200]

Not a test: nothing is asserted; it prints figures and ratios to the baseline of the same run.
"""

import argparse
import gc
import hashlib
import json
import os
import random
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import webhook_ingest  # noqa: E402

PG = webhook_ingest.PG
DB_NAME = "whatsapp_hub_bench_drain"
REDIS_URL = "redis://127.0.0.1:6379/13"  # not the suite's (15) nor webhook_ingest's (14): prepare() flushes it


def setup() -> tuple[int, list[str]]:
    """A fresh database and Django set up on it (the production settings, Redis for the pushes)."""
    env = {**webhook_ingest.environment(0), "DATABASE_URL": f"{PG}/{DB_NAME}", "REDIS_URL": REDIS_URL}
    org_id, outbound = webhook_ingest.prepare(env)
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "whatsapp_hub.settings")
    import django

    django.setup()
    return org_id, outbound


def freeze_startup_objects() -> None:
    from whatsapp_hub.celery import freeze_startup_objects

    freeze_startup_objects()


def payload_items(body: dict) -> tuple[list[dict], list[dict]]:
    """(messages, statuses) of a Meta webhook."""
    messages, statuses = [], []
    for entry in body["entry"]:
        for change in entry["changes"]:
            messages += change["value"].get("messages", [])
            statuses += change["value"].get("statuses", [])
    return messages, statuses


def batches_of_ten(count: int, size: int, rng: random.Random, first_id: int) -> list[list[dict]]:
    return [
        [webhook_ingest.text_messages(rng, first_id + (b * size + i) * 10, 10) for i in range(size)]
        for b in range(count)
    ]


def batches_of_mix(count: int, size: int, outbound: list[str]) -> list[list[dict]]:
    bodies, _ = webhook_ingest.workload(count * size * 2, outbound, None)
    unique = list({hashlib.sha256(body).hexdigest(): body for body in bodies}.values())
    return [[json.loads(body) for body in unique[b * size : (b + 1) * size]] for b in range(count)]


class Drain:
    """Runs the drain on batches of events, timing each (CPU of this process, wall)."""

    def __init__(self, org_id: int):
        from accounts.models import Organization

        self.org = Organization.objects.get(pk=org_id)

    def run(self, bodies: list[dict]) -> tuple[float, float]:
        from messaging.models import WebhookEvent
        from messaging.services.ingest import processor

        WebhookEvent.objects.bulk_create(
            [
                WebhookEvent(
                    organization=self.org,
                    source=WebhookEvent.Source.META,
                    body=body,
                    dedupe_key=hashlib.sha256(json.dumps(body).encode()).hexdigest(),
                )
                for body in bodies
            ]
        )
        cpu, wall = time.process_time(), time.perf_counter()
        claimed = processor.webhook_events_process_batch(limit=len(bodies))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        assert claimed == len(bodies), claimed
        return cpu, wall


class Baseline:
    """Plain psycopg: the batch's new messages COPied into a bare table, its statuses as executemany UPDATEs."""

    COLUMNS = (
        "organization_id, conversation_id, direction, type, text, payload, provider_message_id, status,"
        " provider_timestamp, created_at"
    )

    def __init__(self, outbound: list[str]):
        self.conn = psycopg.connect(f"{PG}/{DB_NAME}")
        self.conn.execute(
            "CREATE TABLE bench_drain_baseline (id bigserial PRIMARY KEY, organization_id bigint NOT NULL,"
            " conversation_id bigint NOT NULL, direction varchar(8) NOT NULL, type varchar(16) NOT NULL,"
            " text text NOT NULL, payload jsonb NOT NULL, provider_message_id varchar(255) UNIQUE,"
            " status varchar(16) NOT NULL, provider_timestamp timestamptz, created_at timestamptz NOT NULL)"
        )
        with self.conn.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO bench_drain_baseline ({self.COLUMNS}) VALUES (1, 1, 'outbound', 'text', 'hi', '{{}}',"
                " %s, 'sent', now(), now())",
                [(wamid,) for wamid in outbound],
            )
        self.conn.commit()

    def run(self, bodies: list[dict]) -> tuple[float, float]:
        cpu, wall = time.process_time(), time.perf_counter()
        now = datetime.now(UTC)
        with self.conn.cursor() as cursor:
            with cursor.copy(f"COPY bench_drain_baseline ({self.COLUMNS}) FROM STDIN") as copy:
                for body in bodies:
                    for message in payload_items(body)[0]:
                        sent = datetime.fromtimestamp(float(message["timestamp"]), UTC)
                        text, payload = message["text"]["body"], json.dumps(message)
                        copy.write_row((1, 1, "inbound", "text", text, payload, message["id"], "received", sent, now))
            updates = [(status["status"], status["id"]) for body in bodies for status in payload_items(body)[1]]
            if updates:
                cursor.executemany(
                    "UPDATE bench_drain_baseline SET status = %s WHERE provider_message_id = %s", updates
                )
        self.conn.commit()
        return time.process_time() - cpu, time.perf_counter() - wall


class Steps:
    """The CPU time of the drain's steps, added up: its functions wrapped (a handful of calls per batch), and the
    garbage collector's work through its callbacks."""

    WRAPPED = (
        ("processor", "_claim"),
        ("processor", "_ingest"),
        ("processor", "ingest_events"),
        ("writers", "parse_meta"),
        ("writers", "_upsert_contacts"),
        ("writers", "_store_messages"),
        ("writers", "_lock_conversations"),
        ("writers", "_update_conversations"),
        ("writers", "_apply_statuses"),
        ("events", "_message_events"),
        ("events", "_conversation_events"),
        ("realtime", "publish"),
    )

    def __init__(self):
        from messaging import realtime
        from messaging.services import events
        from messaging.services.ingest import processor, writers

        modules = {"processor": processor, "writers": writers, "events": events, "realtime": realtime}
        self.spent: Counter = Counter()
        for module, name in self.WRAPPED:
            setattr(modules[module], name, self._timed(name, getattr(modules[module], name)))
        self.collecting = 0.0
        gc.callbacks.append(self._gc)

    def _timed(self, name: str, real):
        def timed(*args, **kwargs):
            started = time.process_time()
            try:
                return real(*args, **kwargs)
            finally:
                self.spent[name] += time.process_time() - started

        return timed

    def _gc(self, phase: str, info: dict) -> None:
        if phase == "start":
            self.collecting = time.process_time()
        else:
            self.spent["gc"] += time.process_time() - self.collecting

    def report(self, count: int) -> None:
        """Print the CPU per message of each step, `count` messages (and statuses) since the last report."""
        spent = self.spent
        lines = [
            ("claim (a transaction of its own)", spent["_claim"]),
            ("the batch's transaction", spent["ingest_events"]),
            ("  parse the webhooks", spent["parse_meta"]),
            ("  contacts: read, upsert", spent["_upsert_contacts"]),
            ("  conversations: lock (create)", spent["_lock_conversations"]),
            (
                "  messages (and media): insert",
                spent["_store_messages"] - spent["_lock_conversations"] - spent["_update_conversations"],
            ),
            ("  conversations: update", spent["_update_conversations"]),
            ("  statuses: move forward", spent["_apply_statuses"]),
            (
                "  the rest (opt words, events processed)",
                spent["ingest_events"]
                - spent["parse_meta"]
                - spent["_upsert_contacts"]
                - spent["_store_messages"]
                - spent["_apply_statuses"],
            ),
            ("commit, then the pushes", spent["_ingest"] - spent["ingest_events"]),
            ("  pushes: the items", spent["_message_events"] + spent["_conversation_events"]),
            ("  pushes: sent to Redis", spent["publish"]),
            ("garbage collection (in all of the above)", spent["gc"]),
        ]
        for label, seconds in lines:
            print(f"    {label:<44}{seconds / count * 1e6:>6.0f} µs")
        spent.clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=10, help="timed batches per load (after 2 warm-up batches)")
    parser.add_argument("--events", type=int, default=200, help="webhook events per batch (the drain's batch size)")
    args = parser.parse_args()
    warmup = 2
    org_id, outbound = setup()
    drain, baseline, steps = Drain(org_id), Baseline(outbound), Steps()
    loads = {
        "10-message webhooks": batches_of_ten(warmup + args.batches, args.events, random.Random(7), 10_000_000),
        "the mix": batches_of_mix(warmup + args.batches, args.events, outbound),
    }
    freeze_startup_objects()  # as a Celery worker process does once started; the loads, a worker has not
    print(f"batches of {args.events} webhook events; medians of {args.batches} batches after {warmup} warm-up ones")
    print(
        f"{'load':<22}{'messages':>9}{'statuses':>9} | {'drain CPU':>10}{'wall':>9} per message"
        f" | {'psycopg CPU':>12}{'wall':>8} | {'CPU ratio':>9}{'wall ratio':>11}"
    )
    breakdowns = {}
    for label, batches in loads.items():
        figures = []
        for index, bodies in enumerate(batches):
            items = [payload_items(body) for body in bodies]
            messages = sum(len(m) for m, _ in items)
            statuses = sum(len(s) for _, s in items)
            if index == warmup:
                steps.spent.clear()
            ours, theirs = drain.run(bodies), baseline.run(bodies)
            if index >= warmup:
                figures.append((messages, statuses, *ours, *theirs))
        breakdowns[label] = (Counter(steps.spent), sum(f[0] + f[1] for f in figures))
        messages = median(f[0] for f in figures)
        statuses = median(f[1] for f in figures)
        # Per message, a status counting as one (it is written too).
        cpu, wall, base_cpu, base_wall = (median(f[i] / (f[0] + f[1]) for f in figures) for i in (2, 3, 4, 5))
        print(
            f"{label:<22}{messages:>9.0f}{statuses:>9.0f} | {cpu * 1e6:>7.0f} µs{wall * 1e6:>6.0f} µs"
            f" | {base_cpu * 1e6:>9.0f} µs{base_wall * 1e6:>5.0f} µs"
            f" | {cpu / base_cpu:>8.1f}x{wall / base_wall:>10.1f}x"
        )
    for label, (spent, count) in breakdowns.items():
        print(f"where the drain's CPU goes, {label} (per message or status, all timed batches):")
        steps.spent = spent
        steps.report(count)


if __name__ == "__main__":
    main()
