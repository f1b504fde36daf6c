"""With Redis as the shared cache, a change made in another process holds on the next request.

The other process is real: `manage.py shell` in a subprocess, with its own Django, database
connection and Redis client, as a task worker or an admin server would be. It needs the test
database to be reachable from outside (PostgreSQL), and Redis.
"""

import os
import subprocess
import sys
import uuid
from http import HTTPStatus
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import caches
from redis import Redis

from progress.family import PROGRESS_READ
from progress.services import progress_create
from tests.conftest import require_redis
from tests.jobs.tasks.test_lost_worker import database_url

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(settings.BASE_DIR)
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/3"


@pytest.fixture
def shared_cache(settings):
    """Switch the cache to Redis under a key prefix of this test's own."""
    require_redis(REDIS_URL)
    prefix = f"jobdesk-test-{uuid.uuid4().hex[:12]}"
    settings.CACHES = {
        "default": {
            "BACKEND": "tenancy.cache_backends.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    yield prefix
    client = Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}:*"))
    if keys:
        client.delete(*keys)


def in_another_process(prefix: str, code: str, redis_url: str = REDIS_URL) -> None:
    """Run Python `code` in a separate Django process sharing the database and the cache."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_DEBUG": "1",
        "REDIS_URL": redis_url,
        "JOBDESK_CACHE_KEY_PREFIX": prefix,
    }
    subprocess.run(  # noqa: S603 - a fixed command line
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
    )


@pytest.fixture
def job(tenant):
    return progress_create(tenant=tenant, tag="export", context_type="Course", context_id=1)


@pytest.fixture
def token(make_member, make_token, tenant):
    # A transactional test starts from an empty database: the role is made here.
    reader = make_member(tenant, "progress-reader", permissions=[PROGRESS_READ])
    return make_token(reader, tenant)


def poll(api_client, job, token):
    return api_client.get(f"/api/v1/progress/{job.pk}", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_the_cache_really_is_redis(shared_cache):
    assert caches["default"].__class__.__name__ == "RedisCache"


def test_a_token_revoked_in_another_process_is_refused_on_the_next_request(
    shared_cache, api_client, job, token
):
    assert poll(api_client, job, token).status_code == HTTPStatus.OK
    assert poll(api_client, job, token).status_code == HTTPStatus.OK  # served from the cache

    in_another_process(
        shared_cache,
        "from tenancy.models import ApiToken; from tenancy.services import token_revoke; "
        f"[token_revoke(token=t) for t in ApiToken.objects.filter(prefix={token[:10]!r})]",
    )

    assert poll(api_client, job, token).status_code == HTTPStatus.UNAUTHORIZED


def test_a_job_changed_in_another_process_shows_on_the_next_poll(
    shared_cache, api_client, job, token, django_assert_num_queries
):
    poll(api_client, job, token)

    in_another_process(
        shared_cache,
        "from progress.models import Progress; from progress import services; "
        f"p = Progress.objects.across_tenants().get(pk={job.pk}); services.progress_start(p); "
        "services.progress_update(p, completion=61.0, message='from the worker')",
    )

    # The worker replaced the snapshot after its commit: a hit, with the new state.
    with django_assert_num_queries(0):
        body = poll(api_client, job, token).json()
    assert (body["workflow_state"], body["completion"], body["message"]) == (
        "running",
        61.0,
        "from the worker",
    )
