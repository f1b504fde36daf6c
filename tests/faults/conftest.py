"""Fixtures of the fault tests: PostgreSQL and Redis reached through a `FaultProxy`.

The database proxy needs the suite to run on PostgreSQL (tests marked `postgres`); the cache
proxy needs Redis (skipped when it is unreachable, failing when CI is set). Proxies listen on
ephemeral ports, or from JOBDESK_TEST_PROXY_PORT on where ports are handed out by range.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from django.db import connections
from redis import Redis

from tests.conftest import require_redis
from tests.faults.helpers import Worker
from tests.faults.proxy import FaultProxy
from tests.helpers import reseed_roles

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/3"
# Short, so a hanging Redis costs the tests little; production's default is 0.5 s.
CACHE_TIMEOUT_SECONDS = 0.2


def cache_url(proxy: FaultProxy) -> str:
    """Return the URL of the test Redis database through `proxy`."""
    database = Redis.from_url(REDIS_URL).connection_pool.connection_kwargs.get("db", 0)
    return f"redis://127.0.0.1:{proxy.port}/{database}"


def proxy_port(offset: int) -> int:
    base = os.environ.get("JOBDESK_TEST_PROXY_PORT", "").strip()
    return int(base) + offset if base else 0


@pytest.fixture
def database_proxy(transactional_db, settings) -> Iterator[FaultProxy]:
    """Send this process's queries through a proxy to the test database."""
    reseed_roles()
    connection = connections["default"]
    saved = dict(connection.settings_dict)
    proxy = FaultProxy((saved["HOST"] or "127.0.0.1", int(saved["PORT"] or 5432)), proxy_port(0))
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(proxy.port))
    connection.settings_dict["OPTIONS"] = {**saved["OPTIONS"], "connect_timeout": 2}
    # Statements get 1 s (and the client 1 s more), so a hanging database costs 2 s a request.
    settings.JOBDESK_DATABASE_STATEMENT_TIMEOUT_SECONDS = 1
    yield proxy
    proxy.restore()
    connection.close()
    connection.settings_dict.clear()
    connection.settings_dict.update(saved)
    proxy.close()


@pytest.fixture
def cache_proxy(settings) -> Iterator[FaultProxy]:
    """Make the cache a Redis reached through a proxy, under a key prefix of this test's own."""
    require_redis(REDIS_URL)
    redis = Redis.from_url(REDIS_URL)
    address = redis.connection_pool.connection_kwargs
    proxy = FaultProxy((address["host"], address["port"]), proxy_port(1))
    prefix = f"jobdesk-faults-{uuid.uuid4().hex[:12]}"
    settings.CACHES = {
        "default": {
            "BACKEND": "tenancy.cache_backends.RedisCache",
            "LOCATION": cache_url(proxy),
            "KEY_PREFIX": prefix,
            "OPTIONS": {
                "socket_connect_timeout": CACHE_TIMEOUT_SECONDS,
                "socket_timeout": CACHE_TIMEOUT_SECONDS,
            },
        }
    }
    yield proxy
    proxy.close()
    keys = list(redis.scan_iter(match=f"{prefix}:*"))
    if keys:
        redis.delete(*keys)


@pytest.fixture
def worker() -> Iterator[Worker]:
    """A thread that answers the test's requests as a server worker would."""
    found = Worker()
    yield found
    found.stop()
