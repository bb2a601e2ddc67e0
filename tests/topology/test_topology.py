"""The topology test (deploy/topology): nginx, two gunicorns, two daphnes, two Celery workers and beat on PostgreSQL
and Redis, loaded through nginx while one gunicorn, one daphne and one worker are killed with SIGKILL; nothing
acknowledged is lost or doubled. About a minute and a half.

It runs the processes on a database of its own beside the suite's (`test_<name>_topology_<xdist worker>`, created
and dropped) and on a Redis database of its own, flushed before and after: TOPOLOGY_REDIS_URL, else database 11 of
REDIS_URL's server (10 for the second xdist worker). Never the suite's: the hub's cache keys, channel-layer groups
(`org.1`) and Celery queues would meet the browser tests' live server. Ports are free ones on 127.0.0.1. It needs
PostgreSQL, Redis and nginx (`apt-get install nginx-light`, as .ci/run does)."""

import os
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from deploy.topology.processes import NGINX
from deploy.topology.run import report, run
from tests.xdist import own_redis_db

DATABASE_URL = os.environ.get("DATABASE_URL", "")


def topology_redis_url() -> str:
    if os.environ.get("TOPOLOGY_REDIS_URL"):
        return os.environ["TOPOLOGY_REDIS_URL"]
    server = settings.REDIS_URL.rpartition("/")[0]
    return own_redis_db(f"{server}/11")


pytestmark = [
    pytest.mark.skipif(
        not DATABASE_URL.startswith(("postgres://", "postgresql://")) or not settings.REDIS_URL,
        reason="the topology runs on PostgreSQL and Redis (DATABASE_URL, REDIS_URL)",
    ),
    pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx-light)"),
]


def test_the_topology_loses_and_doubles_nothing_while_a_gunicorn_a_daphne_and_a_worker_are_killed():
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    name = urlsplit(DATABASE_URL).path.lstrip("/")
    lines: list[str] = []

    outcome = run(
        database_url=DATABASE_URL,
        database=f"test_{name}_topology_{worker}",
        redis_url=topology_redis_url(),
        say=lines.append,
    )

    report(outcome, say=lines.append)
    print("\n".join(lines))  # the figures, shown with -s or when the test fails
    assert outcome.failures == []
