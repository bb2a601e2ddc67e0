"""The hub's operational keys in Redis (REDIS_URL's database, under CACHE_KEY_PREFIX): the workers' heartbeats,
beat's last run, the metrics' counters, the daphne processes' open sockets and the campaigns' sends per second; and
the Celery queues' lengths (the broker's own keys).

One small client per process (re-made after a fork or when REDIS_URL changes), with short timeouts: these calls
serve health probes and scrapes, which must answer quickly when Redis does not. Without REDIS_URL there is no
client (`client()` is None) and the callers say "not configured".
"""

import os
import threading
import time

import redis
from django.conf import settings

CONNECT_TIMEOUT = 1.0
READ_TIMEOUT = 2.0
# A worker's heartbeat is dropped from the set a day after its last one (a worker gone for good).
FORGET_WORKER_AFTER = 86400
# Per-second send counts of a campaign are kept this long (the rate is read over the last minute).
SENDS_TTL = 120

_lock = threading.Lock()
_client: tuple[int, str, redis.Redis] | None = None  # (pid, url, client)


def client() -> redis.Redis | None:
    global _client
    url = settings.REDIS_URL
    if not url:
        return None
    pid = os.getpid()
    kept = _client
    if kept is None or kept[0] != pid or kept[1] != url:
        with _lock:
            kept = _client
            if kept is None or kept[0] != pid or kept[1] != url:
                made = redis.Redis.from_url(
                    url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=READ_TIMEOUT, health_check_interval=30
                )
                kept = _client = (pid, url, made)
    return kept[2]


def key(name: str) -> str:
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    return f"{prefix}:ops:{name}" if prefix else f"ops:{name}"


# --- Celery worker heartbeats and beat ----------------------------------------------------------------------------


def worker_heartbeat(hostname: str, *, now: float | None = None) -> None:
    """Record that the worker `hostname` is alive now (its main process, every HEARTBEAT_INTERVAL seconds)."""
    now = time.time() if now is None else now
    pipe = client().pipeline(transaction=False)
    pipe.zadd(key("workers"), {hostname: now})
    pipe.zremrangebyscore(key("workers"), 0, now - FORGET_WORKER_AFTER)
    pipe.execute()


def worker_gone(hostname: str) -> None:
    """The worker stopped cleanly: its heartbeat goes."""
    client().zrem(key("workers"), hostname)


def worker_heartbeats() -> dict[str, float]:
    """Each worker's last heartbeat (unix time), by hostname."""
    return {name.decode(): score for name, score in client().zrange(key("workers"), 0, -1, withscores=True)}


def beat_ran(*, now: float | None = None) -> None:
    """Record that beat ran now (it started, or sent a scheduled task)."""
    client().set(key("beat"), repr(time.time() if now is None else now), ex=FORGET_WORKER_AFTER)


def beat_last_run() -> float | None:
    value = client().get(key("beat"))
    return float(value) if value is not None else None


# --- Celery queues (the broker's keys: kombu's Redis transport) --------------------------------------------------

# kombu keeps a queue's messages of priority p > 0 in a list of its own, "<queue>\x06\x16<p>" (priority_steps).
_PRIORITY_SEP = "\x06\x16"
_PRIORITY_STEPS = (3, 6, 9)
_UNACKED = "unacked"


def queue_lengths(queues: list[str]) -> dict[str, int]:
    """Messages waiting in each Celery queue (all priorities), read now."""
    names = [[queue, *(f"{queue}{_PRIORITY_SEP}{step}" for step in _PRIORITY_STEPS)] for queue in queues]
    pipe = client().pipeline(transaction=False)
    for lists in names:
        for name in lists:
            pipe.llen(name)
    lengths = iter(pipe.execute())
    return {queue: sum(next(lengths) for _ in lists) for queue, lists in zip(queues, names, strict=True)}


def unacked() -> int:
    """Messages taken by workers and not acknowledged yet (acks_late: running, or reserved by prefetch)."""
    return client().hlen(_UNACKED)


# --- metrics: the processes' tallies, the daphne processes' sockets, the campaigns' sends per second ------------

# A daphne process that has not written its socket count for this long is forgotten (its entries deleted).
FORGET_SOCKETS_AFTER = 86400


def _sends_key(campaign_id: int, second: int) -> str:
    return key(f"campaign-sends:{campaign_id}:{second}")


def metrics_flush(
    counts: dict[str, int], sends: dict[int, int], *, process: str, sockets: int | None, now: float
) -> None:
    """Add a process's tallies to the counters, its campaign sends to this second's, and write its open sockets
    (None: it never had any). One round trip."""
    pipe = client().pipeline(transaction=False)
    for field, amount in counts.items():
        if amount:
            pipe.hincrby(key("counters"), field, int(amount))
    second = int(now)
    for campaign_id, count in sends.items():
        pipe.incrby(_sends_key(campaign_id, second), count)
        pipe.expire(_sends_key(campaign_id, second), SENDS_TTL)
    if sockets is not None:
        pipe.hset(key("sockets"), process, sockets)
        pipe.zadd(key("sockets-seen"), {process: now})
    pipe.execute()


def metrics_counters() -> dict[str, float]:
    return {field.decode(): float(total) for field, total in client().hgetall(key("counters")).items()}


def metrics_sockets(*, since: float) -> int:
    """The open sockets of the daphne processes that wrote their count since `since` (unix time)."""
    redis_client = client()
    gone = redis_client.zrangebyscore(key("sockets-seen"), "-inf", since - FORGET_SOCKETS_AFTER)
    if gone:
        pipe = redis_client.pipeline(transaction=False)
        pipe.hdel(key("sockets"), *gone)
        pipe.zrem(key("sockets-seen"), *gone)
        pipe.execute()
    live = redis_client.zrangebyscore(key("sockets-seen"), since, "+inf")
    return sum(int(count or 0) for count in redis_client.hmget(key("sockets"), live)) if live else 0


def campaign_sends(campaign_ids: list[int], *, until: float, window: int) -> dict[int, int]:
    """Each campaign's sends recorded in the `window` seconds up to `until` (its current second included)."""
    seconds = range(int(until) - window + 1, int(until) + 1)
    if not campaign_ids:
        return {}
    names = [_sends_key(campaign_id, second) for campaign_id in campaign_ids for second in seconds]
    counts = iter(client().mget(names))
    return {campaign_id: sum(int(next(counts) or 0) for _ in seconds) for campaign_id in campaign_ids}
