"""The topology test: the hub started as production runs it, on loopback, loaded and broken on purpose.

nginx (deploy/render.py's configuration) in front of two gunicorns and two daphnes, two Celery workers and beat, on
PostgreSQL (a database of its own, created, migrated and dropped) and Redis (the database REDIS_URL names: it must
be the topology's own, it is flushed), with the fake Graph API (tests/fakes/meta.py) in this process as Meta: it
receives the hub's sends and posts signed webhooks to nginx, retrying any answer but 200. Every port is a free one on
127.0.0.1; the hub's egress allow-list holds only the fake. scenario.py says what is done and checked.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/whatsapp_hub REDIS_URL=redis://127.0.0.1:6379/7 \\
        .venv/bin/python -m deploy.topology.run [--inbound 300] [--recipients 200] [--keep]

It prints its figures, exits 0 when every check held (1 otherwise), and stops every process it started, also when
something fails or it is interrupted; the servers' logs are kept (their folder printed) when a check failed.
tests/topology/test_topology.py runs it in the test suite. It needs requirements-dev.txt (the websocket client) and
Debian's nginx (nginx-light).
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from deploy.topology.processes import NGINX, Topology
from deploy.topology.scenario import APP_SECRET, Outcome, Plan, Scenario, TopologyMeta


def default_database(database_url: str) -> str:
    """The topology's database beside DATABASE_URL's: `<its name>_topology`."""
    return f"{urlsplit(database_url).path.lstrip('/') or 'whatsapp_hub'}_topology"


def log_errors(logs: Path) -> dict[str, int]:
    """Tracebacks in each server's log."""
    counts = {}
    for path in sorted(logs.glob("*.log")):
        count = path.read_text(errors="replace").count("Traceback (most recent call last)")
        if count:
            counts[path.stem] = count
    return counts


def run(
    *,
    database_url: str,
    redis_url: str,
    database: str | None = None,
    plan: Plan | None = None,
    keep: bool = False,
    say: Callable[[str], None] = print,
) -> Outcome:
    """Start the topology, run the scenario, stop everything; the figures and the failed checks."""
    plan = plan or Plan()
    began = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="topology-"))
    fake = TopologyMeta(app_secret=APP_SECRET)
    fake.enforce_window = True
    fake.start()
    topology = Topology(
        database_url=database_url,
        database=database or default_database(database_url),
        redis_url=redis_url,
        workdir=workdir,
        graph_url=fake.base_url,
        egress_allowed=[f"127.0.0.1:{fake.port}"],
        log=say,
    )
    scenario: Scenario | None = None
    outcome = Outcome()
    prepared = started = None
    stopped = False

    def stop() -> None:
        nonlocal stopped
        if stopped:
            return
        stopped = True
        for client in scenario.clients if scenario else ():
            client.stop()
        fake.stop()
        topology.stop(drop=not keep)

    atexit.register(stop)  # also when the interpreter leaves by another way than this function's
    try:
        say(f"Preparing a database ({topology.database}), static files and nginx's configuration in {workdir}")
        topology.prepare()
        prepared = time.monotonic()
        names = ", ".join(topology.processes)
        say(f"Starting {names} on 127.0.0.1 (nginx on {topology.url})")
        topology.start()
        started = time.monotonic()
        say("Running the scenario through nginx")
        scenario = Scenario(topology, fake, plan, outcome=outcome, say=say)
        scenario.run()
    except Exception as error:
        say(traceback.format_exc())
        outcome.failures.append(f"the run stopped: {error!r}")
    finally:
        finished = time.monotonic()
        stop()
        stopped_at = time.monotonic()
        errors = log_errors(topology.logs)
        if errors:
            outcome.figures["tracebacks in the servers' logs"] = errors
        if outcome.failures or keep:
            say(f"Servers' logs kept in {topology.logs}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
        atexit.unregister(stop)
    marks = [("prepare", prepared), ("start", started), ("scenario", finished)]
    spans, last = [], began
    for name, mark in marks:
        if mark is not None:
            spans.append(f"{name} {mark - last:.1f} s")
            last = mark
    outcome.figures["durations"] = ", ".join([*spans, f"stop {stopped_at - finished:.1f} s"]) + (
        f", total {stopped_at - began:.1f} s"
    )
    return outcome


def report(outcome: Outcome, say: Callable[[str], None] = print) -> None:
    width = max(len(name) for name in outcome.figures)
    for name, value in outcome.figures.items():
        say(f"{name:<{width}}  {value}")
    if outcome.failures:
        say(f"FAILED ({len(outcome.failures)}):")
        for failure in outcome.failures:
            say(f"  - {failure}")
    else:
        say("Every check held.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    defaults = Plan()
    parser.add_argument("--inbound", type=int, default=defaults.inbound, help="customers' messages (webhooks)")
    parser.add_argument("--customers", type=int, default=defaults.customers)
    parser.add_argument("--rate", type=float, default=defaults.rate, help="customers' webhooks per second")
    parser.add_argument("--recipients", type=int, default=defaults.recipients, help="the campaign's")
    parser.add_argument("--throughput", type=int, default=defaults.throughput, help="the campaign number's, per s")
    parser.add_argument("--database", help="the topology's database (default: DATABASE_URL's name + _topology)")
    parser.add_argument("--keep", action="store_true", help="keep the database and the servers' logs")
    args = parser.parse_args(argv)
    database_url, redis_url = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")) or not redis_url.startswith("redis"):
        parser.error("set DATABASE_URL (PostgreSQL) and REDIS_URL (a Redis database of the topology's own)")
    if NGINX is None:
        parser.error("nginx is not installed (apt-get install nginx-light)")
    # A SIGTERM (CI's timeout, kill) leaves through the finally blocks that stop the processes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    plan = Plan(
        inbound=args.inbound,
        customers=args.customers,
        rate=args.rate,
        recipients=args.recipients,
        throughput=args.throughput,
    )
    outcome = run(database_url=database_url, redis_url=redis_url, database=args.database, plan=plan, keep=args.keep)
    report(outcome)
    return 1 if outcome.failures else 0


if __name__ == "__main__":
    sys.exit(main())
