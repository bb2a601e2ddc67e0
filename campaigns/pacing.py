"""Pacing of campaign sends per business number, shared by every worker: a GCRA limiter.

Meta's throughput is per business number (80 messages/s by default, up to 1,000) and counts every message of the
number; above it, sends fail with 130429. Celery's rate limits are per worker, so the limiter lives in Redis: one
key per number holding the theoretical arrival time (TAT) of the next send, advanced by a small Lua script that
takes N tokens at once with Redis' own clock (`TIME`), so workers on several machines agree. A take reserves its
slot and answers how long to wait for it (workers sleep that long, then send): no polling. Takes are refused
(nothing reserved) past `max_wait`, so a worker that waits is never committed to sending far in the future (it
looks at its campaign's status meanwhile: a pause stops it within a second).

A number's pacing that fell behind (its senders were late to ask: a busy process, a claim on the way) catches up by
at most `catch_up` seconds: the next take's slot may lie that far in the past, and its sends leave at once. The
slots stay spaced at the rate, so this takes nothing from the bound the caller keeps (a send leaves within its
lateness allowance of its slot, campaigns.sending.JITTER); without it, every stall of a sender loses its time for
good.

A send that leaves later after its slot than the pacing allows for (a busy machine) pushes the number's next slot
back by the difference (`postpone`): it took a later slot than its own, and the sends after it must not bunch up
with it.

A 130429 slows the number down: its rate is halved (down to 1/16) for SLOWDOWN_SECONDS and the next slot is pushed
THROTTLE_PAUSE seconds away, then the full rate comes back.

Without Redis (the embedded default: one process) the same algorithm runs in the process (`LocalLimiter`).
Checked here: bench/campaign_send.py measures the largest count in any one-second window at Meta's side.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

from django.conf import settings

SLOWDOWN_SECONDS = 10.0
THROTTLE_PAUSE = 1.0
MIN_FACTOR = 1 / 16

# KEYS[1]: the number's key. ARGV: interval (µs per token at the full rate), tokens, max_wait (µs), ttl (ms),
# catch_up (µs). Returns {granted (1/0), wait (µs)}: granted, the slot starts after `wait` (negative: it started that
# long ago, at most catch_up); refused, it would start after `wait`.
TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local state = redis.call('HMGET', KEYS[1], 'tat', 'slow_until', 'factor')
local tat = tonumber(state[1]) or now
local factor = 1
if tonumber(state[2]) and now < tonumber(state[2]) then factor = tonumber(state[3]) or 1 end
if tat < now - tonumber(ARGV[5]) then tat = now - tonumber(ARGV[5]) end
local wait = tat - now
if wait > tonumber(ARGV[3]) then return {0, wait} end
redis.call('HSET', KEYS[1], 'tat', tat + tonumber(ARGV[1]) * tonumber(ARGV[2]) / factor)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {1, wait}
"""
# KEYS[1]: the number's key. ARGV: slowdown (µs), pause (µs), min factor, ttl (ms). Returns the new factor * 1e6.
THROTTLE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local state = redis.call('HMGET', KEYS[1], 'tat', 'slow_until', 'factor')
local factor = 1
if tonumber(state[2]) and now < tonumber(state[2]) then factor = tonumber(state[3]) or 1 end
factor = math.max(factor / 2, tonumber(ARGV[3]))
local tat = math.max(tonumber(state[1]) or now, now) + tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'tat', tat, 'slow_until', now + tonumber(ARGV[1]), 'factor', factor)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return math.floor(factor * 1000000)
"""
# KEYS[1]: the number's key. ARGV: delay (µs), ttl (ms). Pushes the next slot back by the delay.
POSTPONE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('HGET', KEYS[1], 'tat')) or now
redis.call('HSET', KEYS[1], 'tat', math.max(tat, now) + tonumber(ARGV[1]))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""
KEY_TTL_MS = 60_000


@dataclass(frozen=True)
class Take:
    granted: bool
    wait: float  # seconds


class RedisLimiter:
    """The shared limiter (REDIS_URL set). One client per process (re-created after a fork)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._client = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    def _scripts(self):
        if self._client is None or self._pid != os.getpid():
            with self._lock:
                if self._client is None or self._pid != os.getpid():
                    import redis

                    client = redis.Redis.from_url(self.url)
                    self._take, self._throttle = client.register_script(TAKE), client.register_script(THROTTLE)
                    self._postpone = client.register_script(POSTPONE)
                    self._client, self._pid = client, os.getpid()
        return self._take, self._throttle

    def take(self, key: str, tokens: int, rate: float, *, max_wait: float, catch_up: float = 0.0) -> Take:
        take, _ = self._scripts()
        args = [round(1_000_000 / rate, 3), tokens, int(max_wait * 1e6), KEY_TTL_MS, int(catch_up * 1e6)]
        granted, wait = take(keys=[key], args=args)
        return Take(bool(granted), int(wait) / 1e6)

    def throttle(self, key: str) -> float:
        _, throttle = self._scripts()
        args = [int(SLOWDOWN_SECONDS * 1e6), int(THROTTLE_PAUSE * 1e6), MIN_FACTOR, KEY_TTL_MS]
        return int(throttle(keys=[key], args=args)) / 1e6

    def postpone(self, key: str, seconds: float) -> None:
        self._scripts()
        self._postpone(keys=[key], args=[int(seconds * 1e6), KEY_TTL_MS])

    def reset(self, key: str) -> None:
        self._scripts()
        self._client.delete(key)


class LocalLimiter:
    """The same limiter inside one process (no Redis: the embedded default runs everything in one process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: dict[str, tuple[float, float, float]] = {}  # key -> (tat, slow_until, factor)

    def take(self, key: str, tokens: int, rate: float, *, max_wait: float, catch_up: float = 0.0) -> Take:
        with self._lock:
            now = time.monotonic()
            tat, slow_until, factor = self._state.get(key, (now, 0.0, 1.0))
            factor = factor if now < slow_until else 1.0
            tat = max(tat, now - catch_up)
            wait = tat - now
            if wait > max_wait:
                return Take(False, wait)
            self._state[key] = (tat + tokens / rate / factor, slow_until, factor)
            return Take(True, wait)

    def throttle(self, key: str) -> float:
        with self._lock:
            now = time.monotonic()
            tat, slow_until, factor = self._state.get(key, (now, 0.0, 1.0))
            factor = max((factor if now < slow_until else 1.0) / 2, MIN_FACTOR)
            self._state[key] = (max(tat, now) + THROTTLE_PAUSE, now + SLOWDOWN_SECONDS, factor)
            return factor

    def postpone(self, key: str, seconds: float) -> None:
        with self._lock:
            now = time.monotonic()
            tat, slow_until, factor = self._state.get(key, (now, 0.0, 1.0))
            self._state[key] = (max(tat, now) + seconds, slow_until, factor)

    def reset(self, key: str) -> None:
        with self._lock:
            self._state.pop(key, None)


_limiter: RedisLimiter | LocalLimiter | None = None


def limiter() -> RedisLimiter | LocalLimiter:
    """The process's limiter: Redis's when REDIS_URL is set, else the in-process one."""
    global _limiter
    url = settings.REDIS_URL
    if (
        _limiter is None
        or (isinstance(_limiter, RedisLimiter) and _limiter.url != url)
        or (isinstance(_limiter, LocalLimiter) and url)
    ):
        _limiter = RedisLimiter(url) if url else LocalLimiter()
    return _limiter


def number_key(number) -> str:
    """The limiter key of a business number: Meta's phone number id (its throughput is Meta's, per number)."""
    return f"campaigns:pace:{number.phone_number_id or f'number-{number.pk}'}"


def wait_for(key: str, tokens: int, rate: float, *, max_wait: float = 0.5, catch_up: float = 0.0) -> float | None:
    """Reserve `tokens` sends at `rate` per second and sleep until their slot; returns the slot (time.monotonic(),
    up to `catch_up` in the past), or None (nothing reserved, after sleeping up to `max_wait`) when the slot is
    further away than `max_wait`: the caller looks around and asks again."""
    asked = time.monotonic()
    take = limiter().take(key, tokens, rate, max_wait=max_wait, catch_up=catch_up)
    if not take.granted:
        time.sleep(max_wait)
        return None
    slot = asked + take.wait
    time.sleep(max(0.0, slot - time.monotonic()))
    return slot
