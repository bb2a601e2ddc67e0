"""Benchmark: signed Meta webhooks over HTTP -> gunicorn -> PostgreSQL -> Celery workers -> inbox rows.

Starts the hub on PostgreSQL + Redis (gunicorn for HTTP, a real Celery worker), posts realistic
signed webhooks with wrk from a separate process (signed beforehand, as Meta signs on its side) and
prints acknowledgement latency, the messages acknowledged and persisted per second end to end, the
drain lag (how long after the last acknowledgement the last message was persisted), how many ingest
batches ran alongside another drain's, duplicates and losses, and as a baseline from the same run
the rate at which plain psycopg inserts the same rows. The whole run is made with 1 and then 2 worker
processes (`--workers`): ingest drains run in parallel, so the second should persist faster. The
workload: single text messages, statuses of earlier outbound messages, batches of 50 messages, 5 %
identical redeliveries; or, with `--batch N`, every webhook carries N messages. The servers' logs are
kept (their folder is printed) and any error in them is reported.

    apt-get install -y wrk    # the load generator (C): it costs the 2 cores almost nothing
    .venv/bin/python bench/webhook_ingest.py [--requests 6000] [--concurrency 8] [--batch 10] [--workers 1 2]

Not a test: nothing is asserted; it prints figures and ratios.
"""

import argparse
import hashlib
import hmac
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import requests
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
PG = "postgres://postgres@127.0.0.1:5432"
DB_NAME = "whatsapp_hub_bench"
APP_SECRET = "bench-app-secret"
PHONE_NUMBER_ID = "106540352242922"
CUSTOMERS = 2000


def environment(port: int) -> dict:
    return {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "bench-" + "x" * 60,
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"{PG}/{DB_NAME}",
        "REDIS_URL": "redis://127.0.0.1:6379/14",
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "WARNING",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
    }


def run(cmd: list[str], env: dict) -> None:
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def prepare(env: dict) -> tuple[int, list[str]]:
    """A fresh database (env's DATABASE_URL) with one organization, one Cloud number and outbound messages to get
    statuses; env's Redis database emptied."""
    database = env["DATABASE_URL"].rsplit("/", 1)[1]
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {database}")
    redis_db = env["REDIS_URL"].rsplit("/", 1)[1]
    subprocess.run(["redis-cli", "-n", redis_db, "flushdb"], check=True, stdout=subprocess.DEVNULL)
    run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], env)
    script = f"""
import json
from accounts.models import Organization
from messaging.models import WhatsAppNumber, Contact, Conversation, Message
org = Organization.objects.create(name="Bench", slug="bench", plan="enterprise")
number = WhatsAppNumber.objects.create(organization=org, display_name="Bench", provider="cloud",
    phone_number="+15550783881", phone_number_id="{PHONE_NUMBER_ID}", waba_id="102290129340398",
    access_token="token", app_secret="{APP_SECRET}", verify_token="verify", is_primary=True)
contact = Contact.objects.create(organization=org, wa_id="15550000000", phone="+15550000000")
conversation = Conversation.objects.create(organization=org, number=number, contact=contact)
ids = [f"wamid.out.{{i}}" for i in range(3000)]
Message.objects.bulk_create([Message(organization=org, conversation=conversation, direction="outbound",
    type="text", text="hi", provider_message_id=i, status="sent") for i in ids])
print(json.dumps({{"org": org.pk, "outbound": ids}}))
"""
    out = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, capture_output=True)
    if out.returncode:
        sys.exit(f"setting up the bench data failed:\n{out.stderr.decode()}")
    data = json.loads(out.stdout.decode().strip().splitlines()[-1])
    return data["org"], data["outbound"]


def envelope(value: dict) -> dict:
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}],
    }


def text_messages(rng: random.Random, start: int, count: int) -> dict:
    wa_ids = [f"1650{rng.randrange(CUSTOMERS):07d}" for _ in range(count)]
    return envelope(
        {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
            "contacts": [{"profile": {"name": f"Customer {w[-4:]}"}, "wa_id": w} for w in sorted(set(wa_ids))],
            "messages": [
                {
                    "from": w,
                    "id": f"wamid.bench.{start + i}",
                    "timestamp": str(int(time.time())),
                    "type": "text",
                    "text": {"body": f"Hello, is order {start + i} ready? Ça va?"},
                }
                for i, w in enumerate(wa_ids)
            ],
        }
    )


def statuses(rng: random.Random, outbound: list[str]) -> dict:
    wamid = rng.choice(outbound)
    return envelope(
        {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
            "statuses": [
                {
                    "id": wamid,
                    "status": status,
                    "timestamp": str(int(time.time())),
                    "recipient_id": "15550000000",
                }
                for status in rng.sample(["sent", "delivered", "read"], k=rng.randint(1, 3))
            ],
        }
    )


def workload(requests_count: int, outbound: list[str], batch: int | None) -> tuple[list[bytes], int]:
    """The bodies to post and how many unique inbound messages they carry: the mix of the module's docstring,
    or `batch` messages in every webhook (still 5 % redeliveries)."""
    rng = random.Random(7)
    bodies: list[bytes] = []
    unique = 0
    next_id = 0
    for _ in range(requests_count):
        roll = rng.random()
        if roll < 0.05 and bodies:
            bodies.append(rng.choice(bodies))  # Meta redelivers the identical body
            continue
        if batch:
            payload, count = text_messages(rng, next_id, batch), batch
        elif roll < 0.07:
            payload, count = text_messages(rng, next_id, 50), 50
        elif roll < 0.30:
            payload, count = statuses(rng, outbound), 0
        else:
            payload, count = text_messages(rng, next_id, 1), 1
        next_id += count
        unique += count
        bodies.append(json.dumps(payload).encode())  # ensure_ascii: Meta's escaped form
    return bodies, unique


def signed_lines(bodies: list[bytes], folder: Path) -> Path:
    """The file wrk's script reads: one "<X-Hub-Signature-256>\\t<body>" line per request."""
    path = folder / "bodies.tsv"
    with path.open("wb") as lines:
        for body in bodies:
            signature = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
            lines.write(signature.encode() + b"\t" + body + b"\n")
    return path


def post_with_wrk(url: str, lines: Path, *, threads: int, connections: int) -> dict:
    """POST every line's body with wrk, stopped once each has been answered; returns the figures its script
    prints (requests, seconds, latency percentiles, answers other than 200)."""
    marker = lines.parent / "answered."
    script = str(ROOT / "bench" / "webhook_post.lua")
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", "600s", "-s", script, url]
    wrk = subprocess.Popen([*command, "--", str(lines), str(threads), str(marker)], stdout=subprocess.PIPE, text=True)
    while sum(Path(f"{marker}{k}").exists() for k in range(threads)) < threads and wrk.poll() is None:
        time.sleep(0.005)
    wrk.send_signal(signal.SIGINT)
    out, _ = wrk.communicate()
    [line] = [line for line in out.splitlines() if line.startswith("WRK ")]
    return json.loads(line.removeprefix("WRK "))


def count_inbound(conn) -> tuple[int, int, int]:
    """(inbound rows, distinct inbound message ids, sum of unread counters)."""
    row = conn.execute(
        "SELECT (SELECT count(*) FROM messaging_message WHERE direction = 'inbound'),"
        " (SELECT count(DISTINCT provider_message_id) FROM messaging_message WHERE direction = 'inbound'),"
        " (SELECT coalesce(sum(unread_count), 0) FROM messaging_conversation)"
    ).fetchone()
    return row[0], row[1], row[2]


def baseline(rows: int) -> tuple[float, float]:
    """Plain psycopg: the same rows into a bare table, batched (500 per commit) and one commit per row."""
    with psycopg.connect(f"{PG}/{DB_NAME}") as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_baseline (id bigserial primary key, organization_id bigint,"
            " conversation_id bigint, direction varchar(8), type varchar(16), text text, payload jsonb,"
            " provider_message_id varchar(255) UNIQUE, status varchar(16), created_at timestamptz)"
        )
        conn.commit()
        values = [
            (1, 1, "inbound", "text", f"Hello {i}", json.dumps({"id": f"b.{i}"}), f"b.{i}", "received")
            for i in range(rows)
        ]
        sql = (
            "INSERT INTO bench_baseline (organization_id, conversation_id, direction, type, text, payload,"
            " provider_message_id, status, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, now())"
        )
        started = time.perf_counter()
        with conn.cursor() as cur:
            for i in range(0, rows, 500):
                cur.executemany(sql, values[i : i + 500])
                conn.commit()
        batched = rows / (time.perf_counter() - started)
        conn.execute("TRUNCATE bench_baseline")
        conn.commit()
        single_rows = min(rows, 3000)
        started = time.perf_counter()
        for value in values[:single_rows]:
            conn.execute(sql, value)
            conn.commit()
        single = single_rows / (time.perf_counter() - started)
    return batched, single


# Ingest batches (the events of one claim share its claimed_at) and how many ran while another did.
BATCHES_SQL = """
    WITH batch AS (
        SELECT claimed_at AS started, max(processed_at) AS done FROM messaging_webhookevent GROUP BY claimed_at
    )
    SELECT count(*), count(*) FILTER (WHERE EXISTS (
        SELECT 1 FROM batch other
        WHERE other.started <> batch.started AND other.started < batch.done AND other.done > batch.started
    ))
    FROM batch
"""


def log_errors(path: Path) -> list[str]:
    """The lines of a server's log that report an error (a traceback's first line, ERROR, CRITICAL)."""
    lines = path.read_text(errors="replace").splitlines()
    return [line for line in lines if "Traceback" in line or " ERROR " in line or " CRITICAL " in line]


def measure(args: argparse.Namespace, workers: int, logs: Path) -> dict:
    """One run on a fresh database with `workers` Celery processes (and as many ingest drains); its figures."""
    env = {**environment(args.port), "INGEST_DRAINS": str(workers)}
    org_id, outbound = prepare(env)
    url = f"http://127.0.0.1:{args.port}/webhooks/meta/{org_id}/"
    bin_dir = Path(sys.executable).parent
    gunicorn = [str(bin_dir / "gunicorn"), "whatsapp_hub.wsgi", "-w", str(args.gunicorn_workers)]
    celery = [str(bin_dir / "celery"), "-A", "whatsapp_hub", "worker", "-l", "WARNING", "-c", str(workers)]
    log_paths = [logs / f"{workers}-workers-gunicorn.log", logs / f"{workers}-workers-celery.log"]
    log_files = [path.open("w") for path in log_paths]
    servers = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        for command, log in zip(([*gunicorn, "-b", f"127.0.0.1:{args.port}"], celery), log_files, strict=True)
    ]
    scratch = tempfile.mkdtemp(prefix="webhook-bench-")
    try:
        for _ in range(100):
            try:
                requests.get(url, params={"hub.mode": "subscribe", "hub.verify_token": "verify", "hub.challenge": "1"})
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        time.sleep(2)  # let the Celery worker connect

        bodies, expected = workload(args.requests, outbound, args.batch)
        lines = signed_lines(bodies, Path(scratch))
        started = time.perf_counter()
        posted = post_with_wrk(url, lines, threads=args.load_threads, connections=args.concurrency)
        acked = time.perf_counter() - started

        with psycopg.connect(f"{PG}/{DB_NAME}", autocommit=True) as conn:
            deadline = time.perf_counter() + 300
            at_ack = count_inbound(conn)[1]
            while True:
                rows, distinct, unread = count_inbound(conn)
                if distinct >= expected or time.perf_counter() > deadline:
                    break
                time.sleep(0.02)
            persisted = time.perf_counter() - started
            time.sleep(1)  # anything arriving late would be a duplicate
            rows, distinct, unread = count_inbound(conn)
            pending = conn.execute(
                "SELECT count(*) FROM messaging_webhookevent WHERE status <> 'processed'"
            ).fetchone()[0]
            batches, overlapped = conn.execute(BATCHES_SQL).fetchone()
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)
        for out in log_files:
            out.close()
        shutil.rmtree(scratch)
    return {
        "workers": workers,
        "posted": posted,
        "acked": acked,
        "expected": expected,
        "at_ack": at_ack,
        "persisted": persisted,
        "rows": rows,
        "distinct": distinct,
        "unread": unread,
        "pending": pending,
        "batches": batches,
        "overlapped": overlapped,
        "errors": {path.name: log_errors(path) for path in log_paths},
    }


def report(result: dict) -> float:
    """Print one run's figures; returns its persisted messages per second."""
    posted, expected = result["posted"], result["expected"]
    rate = expected / result["persisted"]
    print(f"--- {result['workers']} worker process(es), as many ingest drains")
    print(
        f"requests posted:              {posted['requests']} ({posted['not_ok']} not 200,"
        f" {posted['socket_errors']} socket errors) in {result['acked']:.2f} s"
        f" ({posted['requests'] / posted['seconds']:.0f} req/s)"
    )
    print(
        f"ack latency p50 / p99:        {posted['p50_ms']:.1f} ms / {posted['p99_ms']:.1f} ms"
        f" (mean {posted['mean_ms']:.1f} ms)"
    )
    acked_rate = expected / result["acked"]
    print(f"messages acknowledged:        {expected} unique in {result['acked']:.2f} s -> {acked_rate:.0f}/s")
    print(
        f"messages persisted:           {result['distinct']} distinct ids in {result['persisted']:.2f} s end to end"
        f" -> {rate:.0f}/s ({result['at_ack']} already at the last acknowledgement)"
    )
    print(f"drain lag:                    {result['persisted'] - result['acked']:.2f} s after the last acknowledgement")
    print(
        f"duplicates:                   {result['rows'] - result['distinct']} duplicate rows,"
        f" unread counters off by {result['unread'] - expected}"
    )
    print(f"ingest batches:               {result['batches']}, {result['overlapped']} of them alongside another's")
    lost = max(expected - result["distinct"], 0)
    print(f"losses:                       {lost} (events not processed: {result['pending']})")
    for name, errors in result["errors"].items():
        shown = "".join(f"\n    {line}" for line in errors[:5])
        print(f"errors logged:                {len(errors)} in {name}{shown}")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=8,
        help="connections in flight (8 saturate 2 gunicorn workers here; more only queue: same req/s, longer waits)",
    )
    parser.add_argument("--batch", type=int, default=None, help="messages in every webhook (default: the mix)")
    parser.add_argument("--load-threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2], help="Celery worker processes, one run each (default: 1 2)"
    )
    parser.add_argument("--logs", type=Path, default=None, help="where the servers' logs go (default: a new folder)")
    parser.add_argument("--port", type=int, default=8771)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is the load generator: apt-get install -y wrk")
    logs = args.logs or Path(tempfile.mkdtemp(prefix="webhook-bench-logs-"))
    logs.mkdir(parents=True, exist_ok=True)

    results = [measure(args, workers, logs) for workers in args.workers]

    rates = [report(result) for result in results]
    batched, single = baseline(max(max(result["expected"] for result in results), 1000))
    print("---")
    print(f"servers' logs:                {logs}")
    if len(rates) > 1:
        print(
            f"persisted with {results[-1]['workers']} / {results[0]['workers']} workers:"
            f"  {rates[-1]:.0f} / {rates[0]:.0f} messages/s = {rates[-1] / rates[0]:.2f}"
        )
    print(
        f"baseline psycopg batched:     {batched:.0f} rows/s (500 per commit); single-row commits {single:.0f} rows/s"
    )
    best = max(rates)
    print(f"ratio end-to-end / batched:   {best / batched:.3f}; / single-row commits: {best / single:.2f} (best run)")


if __name__ == "__main__":
    main()
