"""jobdesk's Redis cache backend: Django's, with a reused client and values decoded once."""

import os
import threading
import uuid

import pytest
from redis import Redis
from redis.exceptions import TimeoutError as RedisTimeoutError

from tenancy import cache_backends, caching
from tenancy.cache_backends import MAX_SHARED_VALUE_BYTES, RedisCache
from tests.conftest import require_redis

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/3"


@pytest.fixture
def cache():
    require_redis(REDIS_URL)
    prefix = f"jobdesk-test-backend-{uuid.uuid4().hex[:12]}"
    cache = RedisCache(REDIS_URL, {"KEY_PREFIX": prefix})
    yield cache
    client = Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}:*"))
    if keys:
        client.delete(*keys)


def test_one_client_serves_every_call(cache):
    assert cache._cache.get_client() is cache._cache.get_client(write=True)


def test_shared_values_are_decoded_once_until_they_change(cache):
    cache.set("a", {"state": "running"}, 60)

    first = cache.get_many_shared(["a", "missing"])
    again = cache.get_many_shared(["a"])
    cache.set("a", {"state": "completed"}, 60)
    changed = cache.get_many_shared(["a"])

    assert first == {"a": {"state": "running"}}
    assert again["a"] is first["a"]
    assert changed == {"a": {"state": "completed"}}


def test_each_key_keeps_only_its_last_value(cache):
    """A job's snapshot stored again and again (a new `stored_at` each time) holds one entry
    of the process's decoded values, not one per value it ever had."""
    decoded = cache._cache._decoded.entries
    before = len(decoded)
    for state in ("queued", "running", "completed"):
        cache.set("a", {"state": state}, 60)
        cache.get_many_shared(["a"])

    assert len(decoded) == before + 1
    assert decoded[cache.make_key("a")][1] == {"state": "completed"}


def test_a_key_grown_too_large_drops_its_decoded_value(cache):
    cache.set("a", {"state": "running"}, 60)
    cache.get_many_shared(["a"])
    cache.set("a", "x" * (MAX_SHARED_VALUE_BYTES + 1), 60)

    assert len(cache.get_many_shared(["a"])["a"]) == MAX_SHARED_VALUE_BYTES + 1
    assert cache.make_key("a") not in cache._cache._decoded.entries


def test_large_values_are_decoded_each_time(cache):
    cache.set("big", "x" * (MAX_SHARED_VALUE_BYTES + 1), 60)

    assert cache.get_many_shared(["big"])["big"] is not cache.get_many_shared(["big"])["big"]


def test_plain_get_many_never_shares(cache):
    cache.set("a", {"state": "running"}, 60)

    assert cache.get_many(["a"])["a"] is not cache.get_many(["a"])["a"]


def test_a_read_not_kept_leaves_what_the_process_served_alone(cache, monkeypatch):
    """A look ahead at values (the snapshots checked with another) decodes them for itself:
    the process keeps the value it last served, not one more per key."""
    monkeypatch.setattr(caching, "get_cache", lambda: cache)
    cache.set("a", {"state": "running"}, 60)
    served = caching.read_many(["a"])["a"]
    cache.set("a", {"state": "completed"}, 60)

    looked = caching.read_many(["a"], kept=False)["a"]

    assert looked == {"state": "completed"}
    assert cache._cache._decoded.entries[cache.make_key("a")][1] is served


def test_keys_longer_than_memcached_allows_are_fine(cache):
    key = "k" * 300
    cache.set(key, 1, 60)

    assert cache.get(key) == 1


def test_versions_count_up_and_start_at_random(cache, monkeypatch):
    monkeypatch.setattr(caching, "get_cache", lambda: cache)

    assert caching.bump("v") is None  # no version yet: nothing cached can match
    start = caching.current_version("v")
    assert caching.current_version("v") == start
    assert caching.bump("v") == start + 1
    assert start > 1


def kept(cache) -> list:
    """The connections `cache` keeps for its MGETs between calls."""
    return cache_backends.shared.kept_connections(cache._cache._pool_key(False))


def test_a_connection_is_kept_for_the_next_read(cache, monkeypatch):
    cache.set("key", 1)
    assert cache.get_many_shared(["key"]) == {"key": 1}
    [connection] = kept(cache)
    pool = cache._cache._get_connection_pool(False)
    monkeypatch.setattr(pool, "get_connection", lambda: pytest.fail("took one from the pool"))

    assert [cache.get_many_shared(["key"]) for _ in range(3)] == [{"key": 1}] * 3
    assert kept(cache) == [connection]


def test_a_kept_connection_closed_by_redis_is_replaced(cache):
    cache.set("key", 1)
    assert cache.get_many_shared(["key"]) == {"key": 1}
    [connection] = kept(cache)
    connection.send_command("CLIENT", "ID")
    client_id = connection.read_response()

    Redis.from_url(REDIS_URL).client_kill_filter(_id=client_id)

    assert cache.get_many_shared(["key"]) == {"key": 1}
    [replacement] = kept(cache)
    replacement.send_command("CLIENT", "ID")
    assert replacement.read_response() != client_id


def test_a_failed_read_gives_its_connection_back_to_the_pool_closed(cache, monkeypatch):
    cache.set("key", 1)
    cache.get_many_shared(["key"])
    [connection] = kept(cache)
    pool = cache._cache._get_connection_pool(False)

    def hang():
        raise RedisTimeoutError("Timeout reading from socket")

    monkeypatch.setattr(connection, "read_response", hang)
    with pytest.raises(RedisTimeoutError):
        cache.get_many_shared(["key"])  # a hang is not tried again

    assert kept(cache) == []
    assert connection in pool._available_connections
    assert connection._sock is None


def test_no_more_connections_are_kept_than_the_bound(cache, monkeypatch):
    monkeypatch.setattr(cache_backends, "MAX_KEPT_CONNECTIONS", 0)
    pool = cache._cache._get_connection_pool(False)
    cache.set("key", 1)

    assert cache.get_many_shared(["key"]) == {"key": 1}
    assert kept(cache) == []
    assert not pool._in_use_connections


def test_a_forked_process_keeps_none_of_its_parents_connections(cache, monkeypatch):
    cache.set("key", 1)
    cache.get_many_shared(["key"])
    assert kept(cache)

    monkeypatch.setattr(cache_backends.shared, "pid", -1)  # as in a child after fork()

    assert kept(cache) == []


def test_the_cache_objects_of_many_threads_share_one_pool_and_its_connections(cache):
    # Django makes a cache object per thread; under ASGI a request may get a thread of its own.
    pool = cache._cache._get_connection_pool(write=True)
    cache.set("warm", 1, 60)
    created = pool._created_connections
    others = []

    def request_in_a_thread_of_its_own() -> None:
        other = RedisCache(REDIS_URL, {"KEY_PREFIX": cache.key_prefix})
        other.set("seen", 1, 60)
        others.append(other)

    for _ in range(50):
        thread = threading.Thread(target=request_in_a_thread_of_its_own)
        thread.start()
        thread.join()

    pools = {id(each._cache._get_connection_pool(write=True)) for each in [cache, *others]}
    assert pools == {id(pool)}
    assert pool._created_connections == created  # one at a time: a pooled connection, reused


def test_the_decoded_values_kept_stay_within_their_bytes(cache, monkeypatch):
    decoded = cache._cache._decoded
    monkeypatch.setattr(decoded, "max_bytes", 4_000)
    for number in range(10):
        cache.set(f"k{number}", "x" * 1_000, 60)
        cache.get_many_shared([f"k{number}"])

    assert 0 < decoded.bytes <= 4_000
    assert decoded.get(cache.make_key("k9"))[1] == "x" * 1_000
