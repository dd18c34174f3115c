"""clinic.cache: Django's Redis cache keeping one Redis client per connection pool."""

import pytest
from django.core.cache import caches

from clinic.cache import RedisCache


@pytest.fixture
def redis_cache():
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        pytest.skip("with REDIS_URL only")
    return cache


def test_each_call_reuses_one_client(redis_cache):
    redis_cache.set("clinic-cache-test", 1, 5)
    client = redis_cache._cache.get_client(write=True)
    assert redis_cache._cache.get_client(write=False) is client
    assert redis_cache.get("clinic-cache-test") == 1
    assert redis_cache._cache.get_client("any key") is client
    redis_cache.delete("clinic-cache-test")
    assert redis_cache.get("clinic-cache-test") is None
