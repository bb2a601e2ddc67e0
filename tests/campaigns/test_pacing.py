"""The shared pacing (campaigns.pacing): a number's limiter that fell behind catches up by at most `catch_up`, and its
slots stay spaced at the rate; in Redis (the suite's REDIS_URL) and in the process alike."""

import time

import pytest

from campaigns import pacing

RATE = 100.0  # 10 ms a token


@pytest.fixture(params=["redis", "local"])
def limiter(request, settings):
    limiter = pacing.RedisLimiter(settings.REDIS_URL) if request.param == "redis" else pacing.LocalLimiter()
    limiter.reset("campaigns:pace:test")
    yield limiter
    limiter.reset("campaigns:pace:test")


def _fell_behind(limiter, seconds: float) -> None:
    """The number's next slot lies `seconds` in the past (its senders were late to ask)."""
    if isinstance(limiter, pacing.RedisLimiter):
        client = limiter._client
        now_seconds, now_micros = client.time()
        client.hset("campaigns:pace:test", "tat", now_seconds * 1_000_000 + now_micros - seconds * 1_000_000)
    else:
        limiter._state["campaigns:pace:test"] = (time.monotonic() - seconds, 0.0, 1.0)


@pytest.mark.parametrize("catch_up", [0.0, 0.025])
def test_a_pacing_that_fell_behind_catches_up_at_most_catch_up_then_spaces_its_slots(limiter, catch_up):
    limiter.take("campaigns:pace:test", 1, RATE, max_wait=1.0)  # the key exists (the Redis client too)
    _fell_behind(limiter, 1.0)

    first = limiter.take("campaigns:pace:test", 2, RATE, max_wait=1.0, catch_up=catch_up)
    second = limiter.take("campaigns:pace:test", 2, RATE, max_wait=1.0, catch_up=catch_up)

    assert first.granted and second.granted
    assert -catch_up - 0.005 <= first.wait <= -catch_up + 0.001  # its slot started catch_up ago, not a second ago
    assert second.wait - first.wait == pytest.approx(2 / RATE, abs=0.005)  # two tokens later: spaced at the rate


def test_a_take_beyond_max_wait_is_refused_and_reserves_nothing(limiter):
    assert limiter.take("campaigns:pace:test", 50, RATE, max_wait=1.0).granted  # the next slot is half a second away

    refused = limiter.take("campaigns:pace:test", 1, RATE, max_wait=0.2)
    again = limiter.take("campaigns:pace:test", 1, RATE, max_wait=1.0)

    assert not refused.granted and refused.wait > 0.2
    assert again.granted and again.wait == pytest.approx(refused.wait, abs=0.05)  # the refusal took no slot
