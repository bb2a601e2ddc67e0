"""Benchmark: does POST auth/password-reset-request take the same time for a registered e-mail and an unknown one?

Runs the production configuration in this process (DEBUG=0, a real Redis broker, so the e-mail task is queued, not
run) on a temporary SQLite database, and times requests through Django's full stack (middleware, throttle, view,
enqueue), known and unknown addresses interleaved. Prints the median and p95 of each and their ratio (the baseline
is the unknown address: 1.00 means the answer's timing says nothing about the account). The queued tasks are
deleted from the broker at the end.

    .venv/bin/python bench/password_reset_timing.py [--requests 2000] [--redis redis://127.0.0.1:6379/13]

Not a test: nothing is asserted; it prints figures and ratios.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
KNOWN = "someone@example.com"
UNKNOWN = "nobody@example.com"


def configure(redis_url: str, database: Path) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="whatsapp_hub.settings",
        DEBUG="0",
        SECRET_KEY="bench-" + "x" * 60,
        FIELD_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="testserver",
        DATABASE_URL=f"sqlite:///{database}",
        REDIS_URL=redis_url,
        SECURE_SSL_REDIRECT="0",
        THROTTLE_AUTH_RATE="1000000/min",
        LOG_LEVEL="WARNING",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def percentile(values: list[float], share: float) -> float:
    return sorted(values)[int(share * (len(values) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000, help="per kind of address")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        configure(args.redis, Path(directory) / "bench.sqlite3")
        from django.core.management import call_command
        from django.test import Client

        from accounts.models import User
        from whatsapp_hub.celery import app

        call_command("migrate", verbosity=0)
        User.objects.create_user(KNOWN, "a-long-bench-password", name="Someone")
        client = Client()
        timings: dict[str, list[float]] = {KNOWN: [], UNKNOWN: []}
        try:
            for index in range(100 + 2 * args.requests):
                email = KNOWN if index % 2 else UNKNOWN
                start = time.perf_counter()
                response = client.post("/api/v1/auth/password-reset-request", {"email": email}, "application/json")
                elapsed = time.perf_counter() - start
                assert response.status_code == 200, response.content
                if index >= 100:  # the first ones warm up
                    timings[email].append(elapsed * 1000)
        finally:
            with app.connection_for_write() as connection:
                connection.default_channel.queue_purge("celery")

    known, unknown = timings[KNOWN], timings[UNKNOWN]
    print(f"{args.requests} requests each, through Django's stack, the e-mail task queued on Redis:")
    for name, values in (("registered e-mail", known), ("unknown e-mail", unknown)):
        print(f"  {name:<18} median {statistics.median(values):.3f} ms   p95 {percentile(values, 0.95):.3f} ms")
    print(f"  ratio registered / unknown (median): {statistics.median(known) / statistics.median(unknown):.2f}")


if __name__ == "__main__":
    main()
