"""Benchmark: what the egress policy (whatsapp_hub/egress.py) costs per request to a WAHA server.

Sequential GETs of WAHA's session list on the fake WAHA (127.0.0.1, keep-alive), through
1. the plain pooled session the Cloud provider uses (the baseline: no policy);
2. `egress.request` to an allowed `host:port` entry (the policy's checks, no redirects, the capped read);
3. requests-hardened's own session to `localhost` with loopback allowed: the public-address path's cost
   (resolve the name and check the address on every request, connect to the pinned address). The hub itself
   never allows loopback; this variant only times that path.

    .venv/bin/python bench/egress_overhead.py [--requests 3000]

Not a test: nothing is asserted; it prints figures and ratios to the baseline of the same run.
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "whatsapp_hub.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

import requests_hardened  # noqa: E402
from django.conf import settings  # noqa: E402

from messaging.providers.base import DEFAULT_TIMEOUT, http_session  # noqa: E402
from tests.fakes.waha import FakeWahaServer  # noqa: E402
from whatsapp_hub import egress  # noqa: E402

ROUNDS = 5


def timed(count: int, call) -> tuple[float, float]:
    """(wall seconds, this thread's CPU seconds) per request; the fake serves from other threads, so the CPU figure
    is the client's own work: what the policy adds, whatever the load of the machine."""
    wall, cpu = time.perf_counter(), time.thread_time()
    for _ in range(count):
        response = call()
        assert response.status_code == 200, response.status_code
    return (time.perf_counter() - wall) / count, (time.thread_time() - cpu) / count


def report(label: str, figures: list[tuple[float, float]], base: tuple[float, float]) -> None:
    wall = sorted(f[0] for f in figures)[len(figures) // 2]
    cpu = sorted(f[1] for f in figures)[len(figures) // 2]
    print(
        f"{label:<56} {wall * 1e6:6.0f} µs wall ({wall / base[0]:.2f}x)  {cpu * 1e6:5.0f} µs client CPU "
        f"({cpu / base[1]:.2f}x, {(cpu - base[1]) * 1e6:+.0f} µs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args()
    fake = FakeWahaServer().start()
    headers = {"X-Api-Key": fake.api_key}
    url = f"{fake.url}/api/sessions"
    settings.WAHA_URL = "http://127.0.0.1:3000"  # not the fake: the entry below is what allows it
    settings.EGRESS_ALLOWED_HOSTS = [f"127.0.0.1:{fake.port}"]
    hardened = requests_hardened.HTTPSession(
        requests_hardened.Config(
            ip_filter_enable=True,
            ip_filter_allow_loopback_ips=True,
            never_redirect=True,
            default_timeout=DEFAULT_TIMEOUT,
        )
    )
    variants = {
        "plain pooled session (baseline)": lambda: http_session().get(url, headers=headers, timeout=DEFAULT_TIMEOUT),
        "egress.request, allow-listed host:port": lambda: egress.request(
            "GET", url, headers=headers, timeout=DEFAULT_TIMEOUT
        ),
        "requests-hardened, resolve + check + pin (public path)": lambda: hardened.get(
            f"http://localhost:{fake.port}/api/sessions", headers=headers
        ),
    }
    figures: dict[str, list[tuple[float, float]]] = {label: [] for label in variants}
    try:
        for call in variants.values():
            call()  # connect once: keep-alive from here on
        for _ in range(ROUNDS):  # interleaved, medians: the machine's load drifts
            for label, call in variants.items():
                figures[label].append(timed(args.requests // ROUNDS, call))
    finally:
        fake.stop()
    base = (
        sorted(f[0] for f in figures["plain pooled session (baseline)"])[ROUNDS // 2],
        sorted(f[1] for f in figures["plain pooled session (baseline)"])[ROUNDS // 2],
    )
    print(f"{args.requests} sequential GETs per variant, medians of {ROUNDS} interleaved rounds")
    for label, values in figures.items():
        report(label, values, base)


if __name__ == "__main__":
    main()
