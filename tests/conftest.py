"""Fixtures shared by every app's tests: tenants, members with roles, tokens, clients."""

import os
import uuid
from collections.abc import Callable

import pytest
from django.conf import settings as django_settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.test import override_settings
from rest_framework.test import APIClient
from whitenoise.middleware import WhiteNoiseMiddleware

from jobs.registry import families
from tenancy import authentication, outage
from tenancy.models import Role
from tenancy.services import access_key_issue, membership_grant, token_issue
from tests.factories import TenantFactory, UserFactory
from tests.helpers import reseed_roles
from tests.workers import redis_database_url, worker_environment


def pytest_collection_modifyitems(config, items):
    """Skip tests marked `postgres` unless the suite runs on PostgreSQL."""
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_setupnodes(config, specs) -> None:
    """Start each pytest-xdist worker with a cache key prefix, Redis database and ports of its
    own (tests/workers.py)."""
    for index, spec in enumerate(specs):
        spec.env.update(worker_environment(spec.id, index, len(specs), os.environ))


def require_redis(url: str) -> None:
    """Skip the test when Redis at `url` is unreachable (fail instead when CI is set)."""
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    try:
        Redis.from_url(url).ping()
    except RedisConnectionError:
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {url} is unreachable; CI must run the tests that need it.")
        pytest.skip(f"Redis at {url} is unreachable")


def clear_cache() -> None:
    """Empty the cache: locmem entirely, Redis only under this suite's key prefix."""
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        cache.clear()
        return
    if not cache.key_prefix:
        pytest.fail("With REDIS_URL set, set JOBDESK_CACHE_KEY_PREFIX so tests clear only theirs.")
    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(match=f"{cache.key_prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True, scope="session")
def fast_password_hashing():
    """Hash test passwords with MD5: PBKDF2's 0.3 s per user was most of the suite's time."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True, scope="session")
def rq_database_of_this_worker():
    """Give each pytest-xdist worker's RQ queues a Redis database of their own (gw0: 0).

    With REDIS_URL set each worker has its own (tests/workers.py); without it RQ's queues
    default to Redis database 0, where one worker would run or empty another's jobs.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker or django_settings.REDIS_URL:
        yield
        return
    index = int(worker.removeprefix("gw"))
    queues = {
        name: {**queue, "URL": redis_database_url(queue["URL"], offset=index)}
        for name, queue in django_settings.RQ_QUEUES.items()
    }
    with override_settings(RQ_QUEUES=queues):
        yield


# The settings WhiteNoise's middleware derives the apps' static files and their headers from
# (with every WHITENOISE_* setting).
STATIC_FILES_SETTINGS = (
    "DEBUG",
    "FORCE_SCRIPT_NAME",
    "INSTALLED_APPS",
    "STATIC_URL",
    "STATICFILES_DIRS",
    "STATICFILES_FINDERS",
    "STORAGES",
)


@pytest.fixture(autouse=True, scope="session")
def static_files_listed_once():
    """List the apps' static files once per set of settings, not once per test client.

    Every test client loads the middleware again, and WhiteNoise's lists, stats and describes
    each of the apps' ~170 static files (WHITENOISE_USE_FINDERS) when it is made: 30 ms for
    every test that sends a request. Those files do not change while the suite runs, so each
    middleware adds the files listed by the first one made under the same settings.
    STATIC_ROOT is still read by each one.
    """
    listed: dict[str, dict] = {}
    add_files_from_finders = WhiteNoiseMiddleware.add_files_from_finders

    def add_files_from_finders_once(middleware: WhiteNoiseMiddleware) -> None:
        names = [
            *STATIC_FILES_SETTINGS,
            *(n for n in dir(django_settings) if n.startswith("WHITENOISE_")),
        ]
        key = repr([(name, getattr(django_settings, name, None)) for name in sorted(names)])
        if key not in listed:
            root_files, middleware.files = middleware.files, {}
            add_files_from_finders(middleware)
            listed[key], middleware.files = middleware.files, root_files
        middleware.files.update(listed[key])

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(WhiteNoiseMiddleware, "add_files_from_finders", add_files_from_finders_once)
        yield


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Keep stored files (export packages) in a temporary folder, never in the repository."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def fresh_cache():
    """Start every test with no cached tokens or snapshots (ids repeat between tests), and no
    job noted as read lately (`JobSnapshots.recent`, `RECENT_TOKENS`)."""
    clear_cache()
    for family in families:
        family.snapshots.recent.entries.clear()
    authentication.RECENT_TOKENS.entries.clear()


@pytest.fixture(autouse=True)
def no_outage_recalled():
    """Start every test with no database failure recalled by this process (tenancy.outage)."""
    outage.database_answered()


@pytest.fixture(autouse=True)
def events_channel(settings) -> str:
    """Give every test a pub/sub channel of its own: parallel runs never hear each other."""
    prefix = settings.CACHE_KEY_PREFIX or "jobdesk-test"
    settings.JOBDESK_EVENTS_CHANNEL = f"{prefix}:{uuid.uuid4().hex[:12]}:events"
    return settings.JOBDESK_EVENTS_CHANNEL


@pytest.fixture
def tenant(db):
    return TenantFactory(slug="acme", name="Acme")


@pytest.fixture
def other_tenant(db):
    return TenantFactory(slug="globex", name="Globex")


@pytest.fixture
def make_member(db) -> Callable:
    """Return a function making a user with `role_name` in `tenant` (a new role if unknown).

    `permissions` makes (or updates) a custom role with exactly those permissions.
    """

    def make(tenant, role_name: str = "operations", *, permissions=None, **user_fields):
        if permissions is not None:
            Role.objects.update_or_create(name=role_name, defaults={"permissions": permissions})
        user = UserFactory(**user_fields)
        membership_grant(user=user, tenant=tenant, role_name=role_name)
        return user

    return make


@pytest.fixture
def make_token(db) -> Callable:
    """Return a function issuing a token for (user, tenant) and returning its raw key."""

    def make(user, tenant, *, scopes=None, expires_at=None, name="test") -> str:
        _, raw_key = token_issue(
            user=user, tenant=tenant, name=name, scopes=scopes, expires_at=expires_at
        )
        return raw_key

    return make


@pytest.fixture
def make_access_key(db) -> Callable:
    """Return a function issuing an access key for (user, tenant): (access key id, secret)."""

    def make(user, tenant, *, scopes=None, expires_at=None, name="test") -> tuple[str, str]:
        access_key, secret = access_key_issue(
            user=user, tenant=tenant, name=name, scopes=scopes, expires_at=expires_at
        )
        return access_key.access_key_id, secret

    return make


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def bearer(make_member, make_token) -> Callable:
    """Return a function giving request headers for a fresh member of `tenant` with `role_name`."""

    def make(tenant, role_name: str = "operations", *, scopes=None, **member_kwargs) -> dict:
        user = make_member(tenant, role_name, **member_kwargs)
        return {"HTTP_AUTHORIZATION": f"Bearer {make_token(user, tenant, scopes=scopes)}"}

    return make


@pytest.fixture
def seeded_roles(transactional_db) -> None:
    """Seed the default roles again: a transactional test ends by flushing the database."""
    reseed_roles()
