"""Changes on Redis pub/sub: across processes, and never at the expense of the write path."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings
from redis import Redis

from jobs import watch
from progress.services import progress_create
from tests.conftest import require_redis
from tests.jobs.tasks.test_lost_worker import ROOT, database_url
from tests.jobs.watch.conftest import (
    DEADLINE_SECONDS,
    subscribed,
    until,
    watched_version,
    woken_by_the_change,
)

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/3"
# From the commit in one process to the wake-up in another, on a busy 2-core machine.
WAKE_WITHIN_SECONDS = 0.5


@pytest.fixture
def redis_events(settings):
    """Carry changes (and the cache) on Redis, under a key prefix of this test's own."""
    require_redis(REDIS_URL)
    prefix = f"jobdesk-test-{uuid.uuid4().hex[:12]}"
    settings.REDIS_URL = REDIS_URL
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


@pytest.mark.django_db
def test_a_change_travels_through_redis_to_a_waiter(
    redis_events, family, job, in_thread, django_capture_on_commit_callbacks
):
    assert isinstance(watch.get_hub(), watch.RedisHub)
    seen = watched_version(family, job)
    waiter = in_thread(
        lambda: watch.wait_for_change(
            family.name, job.pk, seen_version=seen, timeout=DEADLINE_SECONDS
        )
    )
    until(lambda: subscribed(family.name, job.pk), "the waiter listens")
    until(lambda: watch.get_hub().subscribed.is_set(), "the hub has subscribed")

    with django_capture_on_commit_callbacks(execute=True):
        family.finish(job)
    change = waiter.result()

    assert woken_by_the_change(change, seen)


@pytest.mark.django_db
def test_publishing_to_an_unreachable_redis_never_fails_or_holds_the_write(
    settings, family, job, django_capture_on_commit_callbacks, caplog
):
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
    started = time.monotonic()

    with django_capture_on_commit_callbacks(execute=True):
        family.finish(job)  # publishing fails after the commit
    with django_capture_on_commit_callbacks(execute=True):
        family.purge(job)  # and again, skipped at once this time

    assert time.monotonic() - started < 2 * settings.REDIS_TIMEOUT_SECONDS + 1
    assert family.family.jobs().filter(pk=job.pk).count() == 0
    assert "Could not publish" in caplog.text


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_commit_in_another_process_wakes_a_waiter_here_within_half_a_second(
    redis_events, tenant, in_thread
):
    job = progress_create(tenant=tenant, tag="export", context_type="Course", context_id=1)
    seen = watched_version(driver_of("progress"), job)
    waiter = in_thread(
        lambda: (
            watch.wait_for_change("progress", job.pk, seen_version=seen, timeout=120),
            time.time(),
        )
    )
    until(lambda: subscribed("progress", job.pk), "the waiter listens")

    committed_at = float(
        in_another_process(
            redis_events,
            "import time; from progress.models import Progress; from progress import services; "
            f"p = Progress.objects.across_tenants().get(pk={job.pk}); "
            "services.progress_start(p); print(time.time())",
        )
    )
    change, woken_at = waiter.result()

    assert change is not None
    assert (change.kind, change.state, change.tenant_id) == ("progress", "running", tenant.pk)
    assert woken_at - committed_at < WAKE_WITHIN_SECONDS


def driver_of(name: str):
    from tests.jobs.drivers import driver

    return driver(name)


def in_another_process(prefix: str, code: str) -> str:
    """Run Python `code` in a separate Django process; return what it printed last."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_DEBUG": "1",
        "REDIS_URL": REDIS_URL,
        "JOBDESK_CACHE_KEY_PREFIX": prefix,
        "JOBDESK_EVENTS_CHANNEL": settings.JOBDESK_EVENTS_CHANNEL,
    }
    done = subprocess.run(  # noqa: S603 - a fixed command line
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip().splitlines()[-1]
