"""The Redis cache backend reuses one redis-py client per connection pool (CI runs with REDIS_URL)."""

import pytest
from django.conf import settings
from django.core.cache import cache

pytestmark = pytest.mark.skipif(
    settings.CACHES["default"]["BACKEND"] != "whatsapp_hub.cache.PooledRedisCache", reason="needs REDIS_URL"
)


def test_one_client_serves_every_call_and_the_cache_works():
    client = cache._cache.get_client(write=True)

    assert cache._cache.get_client() is client
    assert cache.add("pooled-client-check", 1, timeout=5) is True
    assert cache.add("pooled-client-check", 2, timeout=5) is False
    assert cache.get("pooled-client-check") == 1
