"""Benchmark: migrations applied to a live database of a million messages, and the longest wait they cause.

A fresh PostgreSQL database at messaging's first migration is filled with 1,000,000 messages (20,000 contacts and
conversations, 100,000 media rows), then messaging's later migrations (0002 to the last: a GIN index over every
message's text, the contacts' unique constraints, the undelivered-messages index, the pending-media index, new
columns) are applied while threads keep running what the API and the ingest do to those tables: a message inserted
and its conversation moved, a status updated, a page of a conversation's messages read, a contact and a media row
updated. Each round applies them twice, from messaging 0001:

- baseline: the same migrations with plain CREATE [UNIQUE] INDEX (what they did before;
  whatsapp_hub.safe_migrations.CONCURRENTLY = False), which holds every write to the table until the index is built;
- now: CREATE INDEX CONCURRENTLY (whatsapp_hub/safe_migrations.py).

It prints, for each: the migrations' time, the load's operations per second before and during the migrations, the
slowest operation (client side), and the longest lock wait PostgreSQL showed for the load's sessions
(pg_stat_activity sampled every 10 ms: wait_event_type = 'Lock').

    .venv/bin/python bench/migration_locks.py [--url postgres://postgres@127.0.0.1:5432/whatsapp_hub_bench_locks]
        [--messages 1000000] [--threads 4] [--rounds 1]

The database named by --url is dropped and created again. Not a test: it prints figures and the ratio to the
baseline of the same run.
"""

import argparse
import io
import os
import random
import sys
import threading
import time
from contextlib import redirect_stdout
from pathlib import Path
from statistics import median
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402

CONTACTS = 20_000
MEDIA = 100_000


def recreate(url: str) -> None:
    parts = urlsplit(url)
    database = parts.path.lstrip("/")
    server = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')


def setup_django(url: str) -> None:
    os.environ.update(
        DEBUG="1",
        DATABASE_URL=url,
        SECRET_KEY="bench-" + "x" * 60,
        JWT_SIGNING_KEY="bench-" + "y" * 60,
        FIELD_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="whatsapp_hub.settings",
    )
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()


def migrate(*args: str) -> float:
    from django.core.management import call_command

    started = time.perf_counter()
    with redirect_stdout(io.StringIO()):
        call_command("migrate", *args, verbosity=1, interactive=False)
    return time.perf_counter() - started


def _fill(conn, table: str, count: int, values: dict[str, str]) -> None:
    """INSERT `count` rows into `table` from generate_series (i = 1..count): `values` for the columns named, a
    neutral value for every other NOT NULL column without a default."""
    columns = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s "
        "AND is_nullable = 'NO' AND column_default IS NULL",
        [table],
    ).fetchall()
    neutral = {
        "character varying": "''",
        "text": "''",
        "jsonb": "'{}'::jsonb",
        "integer": "0",
        "smallint": "0",
        "bigint": "0",
        "boolean": "false",
        "timestamp with time zone": "now()",
    }
    chosen = {name: values.get(name, neutral[kind]) for name, kind in columns if name != "id"}
    chosen.update({name: value for name, value in values.items() if name not in chosen})
    conn.execute(
        f"INSERT INTO {table} ({', '.join(chosen)}) "
        f"SELECT {', '.join(chosen.values())} FROM generate_series(1, {count}) AS g(i)"
    )


def seed(url: str, messages: int) -> dict:
    """One organization, a number, contacts, conversations, `messages` messages (5 % outbound queued), media."""
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        _fill(conn, "accounts_organization", 1, {"name": "'Bench'", "created_at": "now()"})
        org = conn.execute("SELECT max(id) FROM accounts_organization").fetchone()[0]
        _fill(conn, "messaging_whatsappnumber", 1, {"organization_id": str(org), "display_name": "'Bench'"})
        number = conn.execute("SELECT id FROM messaging_whatsappnumber").fetchone()[0]
        _fill(
            conn,
            "messaging_contact",
            CONTACTS,
            {"organization_id": str(org), "wa_id": "(15550000000 + i)::text", "name": "'Customer ' || i"},
        )
        contacts = conn.execute("SELECT min(id) FROM messaging_contact").fetchone()[0]
        _fill(
            conn,
            "messaging_conversation",
            CONTACTS,
            {"organization_id": str(org), "number_id": str(number), "contact_id": f"{contacts - 1} + i"},
        )
        conversations = conn.execute("SELECT min(id) FROM messaging_conversation").fetchone()[0]
        words = "(array['order','ready','thanks','price','delivery','hello','tomorrow','size','color','refund'])"
        _fill(
            conn,
            "messaging_message",
            messages,
            {
                "organization_id": str(org),
                "conversation_id": f"{conversations} + (i % {CONTACTS})",
                "direction": "CASE WHEN i % 20 = 0 THEN 'outbound' ELSE 'inbound' END",
                "status": "CASE WHEN i % 20 = 0 THEN 'queued' ELSE 'received' END",
                "type": "'text'",
                "text": f"{words}[1 + i % 10] || ' ' || {words}[1 + (i / 10) % 10] || ' #' || i",
                "provider_message_id": "'wamid.bench' || i",
                "created_at": f"now() - make_interval(secs => {messages} - i)",
            },
        )
        first = conn.execute("SELECT min(id) FROM messaging_message").fetchone()[0]
        _fill(
            conn,
            "messaging_media",
            MEDIA,
            {
                "organization_id": str(org),
                "message_id": f"{first - 1} + i * {max(1, messages // MEDIA)}",
                "status": "CASE WHEN i % 50 = 0 THEN 'pending' ELSE 'ready' END",
                "mime_type": "'image/jpeg'",
            },
        )
        conn.execute("VACUUM ANALYZE")
        bounds = conn.execute(
            "SELECT (SELECT min(id) FROM messaging_message), (SELECT max(id) FROM messaging_message), "
            "(SELECT min(id) FROM messaging_conversation), (SELECT max(id) FROM messaging_conversation), "
            "(SELECT min(id) FROM messaging_contact), (SELECT max(id) FROM messaging_contact), "
            "(SELECT min(id) FROM messaging_media), (SELECT max(id) FROM messaging_media)"
        ).fetchone()
    keys = ("message", "conversation", "contact", "media")
    ranges = {key: (bounds[2 * n], bounds[2 * n + 1]) for n, key in enumerate(keys)}
    return {"org": org, "ranges": ranges, "seconds": time.perf_counter() - started}


class Load:
    """Threads doing what the API and the ingest do to the big tables, each operation timed."""

    def __init__(self, url: str, seeded: dict, threads: int, label: str):
        self.url, self.seeded, self.threads, self.label = url, seeded, threads, label
        self.samples: list[tuple[float, float, str]] = []  # (start, seconds, kind)
        self.errors: list[str] = []
        self.pids: set[int] = set()
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.counter = 0

    def run(self, seed: int) -> None:
        rng = random.Random(seed)
        (m_lo, m_hi), (c_lo, c_hi) = self.seeded["ranges"]["message"], self.seeded["ranges"]["conversation"]
        (k_lo, k_hi), (d_lo, d_hi) = self.seeded["ranges"]["contact"], self.seeded["ranges"]["media"]
        org = self.seeded["org"]
        with psycopg.connect(self.url, autocommit=True) as conn:
            with self.lock:
                self.pids.add(conn.info.backend_pid)
            while not self.stop.is_set():
                kind = rng.choices(["ingest", "status", "read", "contact", "media"], [3, 3, 4, 1, 1])[0]
                started = time.perf_counter()
                try:
                    if kind == "ingest":
                        with self.lock:
                            self.counter += 1
                            n = self.counter
                        conversation = rng.randint(c_lo, c_hi)
                        with conn.transaction():
                            conn.execute(
                                "INSERT INTO messaging_message (organization_id, conversation_id, direction, type, "
                                "text, payload, provider_message_id, reply_to_provider_id, status, error_title, "
                                "attempts, created_at) VALUES (%s, %s, 'inbound', 'text', %s, '{}', %s, '', "
                                "'received', '', 0, now())",
                                [org, conversation, f"order ready? {n}", f"wamid.load.{self.label}.{seed}.{n}"],
                            )
                            conn.execute(
                                "UPDATE messaging_conversation SET last_message_at = now(), unread_count = "
                                "unread_count + 1 WHERE id = %s",
                                [conversation],
                            )
                    elif kind == "status":
                        conn.execute(
                            "UPDATE messaging_message SET status = 'delivered', status_updated_at = now() "
                            "WHERE id = %s",
                            [rng.randint(m_lo, m_hi)],
                        )
                    elif kind == "read":
                        conn.execute(
                            "SELECT id, text, status FROM messaging_message WHERE conversation_id = %s "
                            "ORDER BY id DESC LIMIT 25",
                            [rng.randint(c_lo, c_hi)],
                        ).fetchall()
                    elif kind == "contact":
                        conn.execute(
                            "UPDATE messaging_contact SET last_inbound_at = now() WHERE id = %s",
                            [rng.randint(k_lo, k_hi)],
                        )
                    else:
                        conn.execute("UPDATE messaging_media SET error = '' WHERE id = %s", [rng.randint(d_lo, d_hi)])
                except psycopg.Error as exc:
                    with self.lock:
                        self.errors.append(f"{kind}: {exc}".splitlines()[0])
                    continue
                with self.lock:
                    self.samples.append((started, time.perf_counter() - started, kind))

    def __enter__(self):
        self.workers = [threading.Thread(target=self.run, args=(n,), daemon=True) for n in range(self.threads)]
        for worker in self.workers:
            worker.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for worker in self.workers:
            worker.join(30)


class LockWatch:
    """Samples pg_stat_activity every 10 ms: the longest time one of `pids` was seen waiting for a lock."""

    def __init__(self, url: str, pids: set[int]):
        self.url, self.pids = url, pids
        self.longest = 0.0
        self.waiting_samples = 0
        self.stop = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.is_set():
                for (waited,) in conn.execute(
                    "SELECT extract(epoch FROM clock_timestamp() - query_start) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND pid = ANY(%s)",
                    [list(self.pids)],
                ).fetchall():
                    self.longest = max(self.longest, float(waited))
                    self.waiting_samples += 1
                time.sleep(0.01)

    def __enter__(self):
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(10)


def one_run(url: str, seeded: dict, threads: int, concurrently: bool, label: str) -> dict:
    from whatsapp_hub import safe_migrations

    safe_migrations.CONCURRENTLY = concurrently
    with Load(url, seeded, threads, label) as load:
        time.sleep(0.5)
        while len(load.pids) < threads:
            time.sleep(0.05)
        with LockWatch(url, load.pids) as watch:
            time.sleep(3)  # the load alone
            started = time.perf_counter()
            seconds = migrate("messaging")
            ended = time.perf_counter()
            time.sleep(1)
    before = [s for s in load.samples if s[0] < started - 0.2]
    during = [s for s in load.samples if started <= s[0] < ended]
    window = [s for s in load.samples if s[0] >= started - 0.2]
    before_span = started - 0.2 - min(s[0] for s in load.samples)
    slowest = max(window, key=lambda s: s[1])
    durations = sorted(s[1] for s in during)
    return {
        "migrate_s": seconds,
        "ops_before": len(before) / before_span,
        "ops_during": len(during) / (ended - started),
        "median_ms": median(durations) * 1000,
        "p99_ms": durations[int(len(durations) * 0.99) - 1] * 1000 if durations else 0.0,
        "slowest_ms": slowest[1] * 1000,
        "slowest_kind": slowest[2],
        "lock_wait_ms": watch.longest * 1000,
        "over_1s": sum(1 for s in window if s[1] > 1.0),
        "errors": load.errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="postgres://postgres@127.0.0.1:5432/whatsapp_hub_bench_locks")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()

    recreate(args.url)
    setup_django(args.url)
    migrate("messaging", "0001")
    seeded = seed(args.url, args.messages)
    print(
        f"seeded {args.messages:,} messages, {CONTACTS:,} contacts and conversations, {MEDIA:,} media "
        f"in {seeded['seconds']:.1f} s; load: {args.threads} threads"
    )
    results = {"baseline": [], "now": []}
    for round_ in range(args.rounds):
        for label, concurrently in (("baseline", False), ("now", True)):
            if round_ or label == "now":
                migrate("messaging", "0001")
                with psycopg.connect(args.url, autocommit=True) as conn:
                    conn.execute("VACUUM ANALYZE")
            result = one_run(args.url, seeded, args.threads, concurrently, f"{label}{round_}")
            results[label].append(result)
            how = "plain CREATE INDEX" if label == "baseline" else "CREATE INDEX CONCURRENTLY"
            print(
                f"{label:8} ({how}): migrations {result['migrate_s']:.1f} s; load {result['ops_before']:.0f} ops/s "
                f"before, {result['ops_during']:.0f} during (median {result['median_ms']:.1f} ms, "
                f"p99 {result['p99_ms']:.0f} ms); slowest operation {result['slowest_ms']:.0f} ms "
                f"({result['slowest_kind']}); operations over 1 s: {result['over_1s']}; longest lock wait seen "
                f"{result['lock_wait_ms']:.0f} ms; errors {len(result['errors'])}"
                + (f" (first: {result['errors'][0]})" if result["errors"] else "")
            )
    base = max(r["lock_wait_ms"] for r in results["baseline"])
    now = max(r["lock_wait_ms"] for r in results["now"])
    print(
        f"longest lock wait: baseline {base:.0f} ms, now {now:.0f} ms (ratio {now / base:.3f})"
        if base
        else f"longest lock wait: baseline {base:.0f} ms, now {now:.0f} ms"
    )


if __name__ == "__main__":
    main()
