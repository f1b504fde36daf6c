"""Fault figures: how long clients wait for a 503, how soon jobdesk is back, how stale a poll gets.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/jobdesk_faults \
    REDIS_URL=redis://127.0.0.1:6379/0 JOBDESK_CACHE_KEY_PREFIX=jobdesk-faults \
    .venv/bin/python bench/faults.py [--port 0]

PostgreSQL and Redis are reached through the fault proxy of the tests (tests/faults/proxy.py)
on two local ports (`--port`, `--port`+1; ephemeral by default). The database DATABASE_URL
names is migrated and gets one tenant, one member with an API token and two Canvas jobs; the
requests run in this process through Django's test client, on one thread as a sync server
worker runs them, with the production default timeouts. It prints one line per figure:

- PostgreSQL hangs: the time an uncached poll takes to answer 503, and a cached poll's answer;
- PostgreSQL refuses, then hangs: after the fault ends, the time until a poll answers 200
  (one poll every 10 ms);
- Redis refuses, then hangs: the time a poll takes;
- Redis blips around a write: after Redis is back, the time until a poll shows the write.

This is a measurement, not a test: nothing here asserts a budget.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.faults.proxy import FaultProxy  # noqa: E402

POLL_EVERY_SECONDS = 0.01


def through(url: str, proxy: FaultProxy) -> str:
    """Return `url` with its host and port replaced by `proxy`'s."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@127.0.0.1:{proxy.port}" if userinfo else f"127.0.0.1:{proxy.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def proxies(port: int) -> tuple[FaultProxy, FaultProxy]:
    database, cache = urlsplit(os.environ["DATABASE_URL"]), urlsplit(os.environ["REDIS_URL"])
    return (
        FaultProxy((database.hostname, database.port or 5432), port),
        FaultProxy((cache.hostname, cache.port or 6379), port + 1 if port else 0),
    )


def setup_django(database: FaultProxy, cache: FaultProxy) -> None:
    os.environ.update(
        DATABASE_URL=through(os.environ["DATABASE_URL"], database),
        REDIS_URL=through(os.environ["REDIS_URL"], cache),
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="1",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seconds_until(condition) -> float:
    """Return how long it took until `condition()` held, checking every 10 ms."""
    started = time.monotonic()
    while not condition():
        time.sleep(POLL_EVERY_SECONDS)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    database, cache = proxies(parser.parse_args().port)
    setup_django(database, cache)

    from concurrent.futures import ThreadPoolExecutor

    from django.db import close_old_connections, connection
    from django.test import Client

    from progress.services import progress_create, progress_start
    from tenancy.services import membership_grant, tenant_create, token_issue
    from tests.factories import UserFactory

    suffix = os.urandom(4).hex()
    tenant = tenant_create(slug=f"faults-{suffix}", name="Faults")
    user = UserFactory(username=f"faults-{suffix}")
    membership_grant(user=user, tenant=tenant, role_name="operations")
    _, key = token_issue(user=user, tenant=tenant, name="faults")
    jobs = [
        progress_create(tenant=tenant, tag="faults", context_type="Course", context_id=1)
        for _ in range(3)
    ]
    worker, client = ThreadPoolExecutor(max_workers=1), Client(raise_request_exception=False)

    def cycle(job):
        close_old_connections()
        try:
            return client.get(f"/api/v1/progress/{job.pk}", HTTP_AUTHORIZATION=f"Bearer {key}")
        finally:
            close_old_connections()

    def poll(job):
        return worker.submit(cycle, job).result()

    def timed(job):
        started = time.monotonic()
        response = poll(job)
        return response.status_code, time.monotonic() - started

    cached, uncached, written = jobs
    poll(cached)

    database.hang()
    status, took = timed(uncached)
    print(f"PostgreSQL hangs: uncached poll answered {status} after {took:.2f} s")
    status, took = timed(cached)
    print(f"PostgreSQL hangs: cached poll answered {status} after {took:.3f} s")
    database.restore()
    took = seconds_until(lambda: poll(uncached).status_code == 200)
    print(f"PostgreSQL hang ended: first 200 after {took:.3f} s")

    for fault in (database.refuse, database.hang):
        fault()
        poll(uncached)
        database.restore()
        took = seconds_until(lambda: poll(uncached).status_code == 200)
        print(f"PostgreSQL {fault.__name__} ended: polls answered 200 again after {took:.3f} s")

    connection.close()  # this thread's connection went through the database proxy's faults
    for fault in (cache.refuse, cache.hang):
        fault()
        status, took = timed(cached)
        cache.restore()
        print(f"Redis {fault.__name__}s: a poll answered {status} after {took:.3f} s")
    poll(written)  # a fresh snapshot: the worst case
    with cache.refusing():
        progress_start(written)
    took = seconds_until(lambda: poll(written).json()["workflow_state"] == "running")
    print(f"Redis blip around a write: the write showed {took:.2f} s after Redis was back")

    worker.shutdown()
    database.close()
    cache.close()


if __name__ == "__main__":
    main()
