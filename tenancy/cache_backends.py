"""Django's Redis cache, made cheap enough for the poll hot path.

Five costs of `django.core.cache.backends.redis.RedisCache` weigh on a request that makes one
cache round trip and nothing else:

- `RedisCacheClient.get_client` builds a new `redis.Redis` for every call (registering a few
  hundred response callbacks), which costs more CPU than the round trip it serves. The client
  is thread-safe and shares its connection pool, so one per pool is kept.
- Django makes a cache object, and so a connection pool, per thread; under ASGI a request
  that runs sync code gets a thread of its own. Every thread's object here shares one pool
  per server (and the clients and decoded values below), so connections are reused instead
  of opened per request and left open until the object is collected.
- Every key is checked character by character for memcached's limits, which Redis does not
  have.
- Each `redis.Redis` command goes through retries and instrumentation that cost a third of
  the round trip, and taking a connection from the pool and giving it back costs as much
  again (a check that it has nothing to read, a system call, among them):
  `get_many_shared` sends its MGET straight on a connection it keeps between calls instead,
  and decodes each value once per process: a key whose pickled bytes are those it had at its
  last read returns the object decoded then. Only each key's last value is kept, so a job
  whose snapshot is stored again and again holds one entry, not one per version. Callers
  must treat those values as read-only;
  `tenancy.caching.read_many` (job snapshots and resolved tokens, which are frozen) is the one
  caller.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from django.utils.functional import cached_property
from redis.exceptions import ConnectionError as RedisConnectionError

from tenancy.memo import BoundedMemo

# Values this large are decoded every time rather than kept per process. The values kept
# take at most this many keys and this many pickled bytes (the objects decoded from them
# take about four times more): reaching either drops them all (`tenancy.memo`).
MAX_SHARED_VALUE_BYTES = 16 * 1024
MAX_SHARED_VALUES = 20_000
MAX_SHARED_BYTES = 2 * 1024 * 1024
# The MGET connections a process keeps between calls, per pool, at most: as many as calls
# made at once (a worker's threads), each taken from the pool once and counted in its size.
MAX_KEPT_CONNECTIONS = 16


class Shared:
    """What every thread's cache client of one process shares: pools, clients, decoded values.

    With a pool per cache object, thousands of held streams or waits opened under ASGI ran
    Redis out of connections and the process out of files.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pools: dict[str, Any] = {}
        self.clients: dict[str, Any] = {}
        # Each key's last value read: its pickled bytes and the object they decode to.
        self.decoded: BoundedMemo[tuple[bytes, Any]] = BoundedMemo(
            MAX_SHARED_VALUES, MAX_SHARED_BYTES, size_of=lambda entry: len(entry[0])
        )
        # The connections kept for MGET between calls, by pool, and the process they are of.
        self.kept: dict[str, list[Any]] = {}
        self.pid = os.getpid()

    def kept_connections(self, pool_key: str) -> list[Any]:
        """The connections kept for `pool_key`'s MGET (none yet in a process just forked:
        those of its parent are not its own)."""
        if self.pid != os.getpid():
            with self.lock:
                if self.pid != os.getpid():
                    self.kept, self.pid = {}, os.getpid()
        return self.kept.setdefault(pool_key, [])


shared = Shared()


class ReusingRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients = shared.clients
        self._decoded = shared.decoded
        self._pool_keys: dict[int, str] = {}

    def _pool_key(self, write: bool) -> str:
        """Name the pool of the server to use, the same in every thread."""
        index = self._get_connection_pool_index(write)
        key = self._pool_keys.get(index)
        if key is None:
            options = sorted(self._pool_options.items())
            key = self._pool_keys[index] = f"{self._servers[index]} {options!r}"
        return key

    def _get_connection_pool(self, write):
        key = self._pool_key(write)
        pool = shared.pools.get(key)
        if pool is None:
            with shared.lock:
                pool = shared.pools.get(key)
                if pool is None:
                    index = self._get_connection_pool_index(write)
                    pool = self._pool_class.from_url(self._servers[index], **self._pool_options)
                    shared.pools[key] = pool
        return pool

    def get_client(self, key=None, *, write=False):
        pool_key = self._pool_key(write)
        client = self._clients.get(pool_key)
        if client is None:
            pool = self._get_connection_pool(write)
            client = self._clients[pool_key] = self._client(connection_pool=pool)
        return client

    def get_many_shared(self, keys: list[str]) -> dict[str, Any]:
        raws = self._mget(keys)
        return {key: self._decode(key, raw) for key, raw in zip(keys, raws, strict=True) if raw}

    def _mget(self, keys: list[str]) -> list[bytes | None]:
        """MGET on a connection kept from an earlier call, else one of the pool, kept after.

        A kept connection that Redis closed meanwhile (a restart, idle clients dropped) is
        replaced once. Any other failure is not retried: the connection goes back to the pool
        closed and the error is raised, and the caller answers without the cache.
        """
        pool = self._get_connection_pool(False)
        kept = shared.kept_connections(self._pool_key(False))
        try:
            connection = kept.pop()
        except IndexError:
            pass
        else:
            try:
                return self._mget_on(connection, keys, pool, kept)
            except RedisConnectionError:
                pass
        return self._mget_on(pool.get_connection(), keys, pool, kept)

    @staticmethod
    def _mget_on(connection, keys: list[str], pool, kept: list[Any]) -> list[bytes | None]:
        try:
            connection.send_command("MGET", *keys)
            values = connection.read_response()
        except BaseException:
            connection.disconnect()
            pool.release(connection)
            raise
        if len(kept) < MAX_KEPT_CONNECTIONS:
            kept.append(connection)
        else:
            pool.release(connection)
        return values

    def _decode(self, key: str, raw: bytes) -> Any:
        last = self._decoded.get(key)
        if last is not None and last[0] == raw:
            return last[1]
        value = self._serializer.loads(raw)
        if len(raw) <= MAX_SHARED_VALUE_BYTES:
            self._decoded.put(key, (raw, value))
        elif last is not None:
            self._decoded.discard(key)
        return value


class RedisCache(DjangoRedisCache):
    """`django.core.cache.backends.redis.RedisCache`, cheaper per call (see the module)."""

    @cached_property
    def _cache(self) -> ReusingRedisCacheClient:
        return ReusingRedisCacheClient(self._servers, **self._options)

    def validate_key(self, key: str) -> None:
        """Redis takes any key: skip the per-character check for memcached's limits."""

    def get_many_shared(self, keys: list[str], version: int | None = None) -> dict[str, Any]:
        """`get_many`, whose values may be shared with other callers: never change them."""
        made = {self.make_key(key, version=version): key for key in keys}
        found = self._cache.get_many_shared(list(made))
        return {made[key]: value for key, value in found.items()}
