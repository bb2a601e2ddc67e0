"""The suite runs in two processes (pytest-xdist, `make test`): what each must have of its own besides its database
(pytest-django names it after the worker)."""

import os


def own_redis_db(url: str) -> str:
    """The Redis URL of this worker (gw0, gw1, ...): a database of its own, counting down from the one the URL names,
    so that the channel layers, caches, pacing and brokers of two workers never meet. Empty stays empty."""
    if not url:
        return url
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    base, _, db = url.rpartition("/")
    return f"{base}/{(int(db or 0) - int(worker.removeprefix('gw'))) % 16}"
