import socket

import pytest
import redis
from django.conf import settings

from whatsapp_hub.ops import health, keys


@pytest.fixture(autouse=True)
def _fresh_readiness():
    """No readiness report kept from another test."""
    health.forget()
    yield
    health.forget()


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def ops_redis():
    """The suite's Redis (REDIS_URL), with the hub's operational keys and Celery's queues cleared before and after."""
    if not settings.REDIS_URL:
        pytest.skip("needs Redis (REDIS_URL)")
    client = redis.Redis.from_url(settings.REDIS_URL)

    def clear():
        for name in client.scan_iter(match=keys.key("*")):
            client.delete(name)
        client.delete("celery", "unacked")

    clear()
    yield client
    clear()
    client.close()


@pytest.fixture
def with_workers(settings, ops_redis):
    """Production's Celery: tasks go to workers (the checks look at their heartbeats and at beat)."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    return ops_redis
