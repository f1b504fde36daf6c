"""Load a million jobs into PostgreSQL and time the admin's job change lists and dashboard.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
    .venv/bin/python bench/admin_changelists.py [--rows 1000000] [--runs 7] [--keep]

The script creates a dedicated database (`jobdesk_bench` by default) next to the one
DATABASE_URL names, migrates it, loads the rows with COPY, then requests each page through
Django's test client as a superuser and as a tenant operator, and prints the median time of
`--runs` requests (after one warm-up) as a Markdown table. It drops the database at the end
unless `--keep` is given. This is a measurement, not a test: nothing here asserts a budget.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random
from urllib.parse import urlencode, urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
TENANTS = ["acme", "globex", "initech", "umbrella"]
# Share of the rows per family, and of each family's rows per state (the rest succeeded).
FAMILY_SHARE = {"progress": 0.4, "async_status": 0.3, "asset_jobs": 0.3}
RUNNING_SHARE, FAILED_SHARE = 0.02, 0.08
SPAN = timedelta(days=365)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="jobs in all (default 1M)")
    parser.add_argument("--runs", type=int, default=7, help="timed requests per page")
    parser.add_argument("--database", default="jobdesk_bench", help="database to create")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return parser.parse_args()


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def recreate_database(url: str, name: str, *, drop_only: bool = False) -> None:
    """Drop `name` if it exists, then (unless drop_only) create it afresh."""
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def load(rows: int) -> dict:
    """Create tenants, users and `rows` jobs; return what the timing needs."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from asset_jobs.family import ASSET_JOB_READ
    from async_status.family import ASYNC_STATUS_READ
    from progress.family import PROGRESS_READ
    from tenancy.models import Role, Tenant
    from tenancy.services import membership_grant

    call_command("migrate", verbosity=0)
    tenants = [Tenant.objects.create(slug=slug, name=slug.capitalize()) for slug in TENANTS]
    User = get_user_model()
    # The test client logs in with force_login: no usable password is needed.
    superuser = User.objects.create_superuser("bench-admin", password=None)
    operator = User.objects.create_user("bench-operator", password=None, is_staff=True)
    reads = [PROGRESS_READ, ASYNC_STATUS_READ, ASSET_JOB_READ]
    Role.objects.update_or_create(name="bench-reader", defaults={"permissions": reads})
    membership_grant(user=operator, tenant=tenants[0], role_name="bench-reader")
    instance_ids = create_instances(connection, tenants)
    now = datetime.now(UTC)
    with connection.cursor() as cursor:
        raw = cursor.cursor
        for family, share in FAMILY_SHARE.items():
            count = int(rows * share)
            started = time.perf_counter()
            copy_rows(raw, family, count, [t.pk for t in tenants], instance_ids, now)
            print(f"  loaded {count:>9,} {family} rows in {time.perf_counter() - started:.1f} s")
        for table in ["progress_progress", "async_status_asyncstatus", "asset_jobs_assetjob"]:
            cursor.execute(f"VACUUM ANALYZE {table}")
    return {"superuser": superuser, "operator": operator, "tenant": tenants[0]}


def create_instances(connection, tenants) -> dict[int, int]:
    from asset_jobs.models import Instance

    instances = Instance.objects.across_tenants()
    return {
        t.pk: instances.create(tenant=t, instance_id=f"roma-{t.slug}", name="ROMA").pk
        for t in tenants
    }


def job_times(rng: Random, now: datetime, state: str) -> tuple[datetime, datetime | None]:
    """Return a start time within the last year and, for a finished job, an end time."""
    start = now - SPAN * rng.random()
    if state == "running":
        return start, None
    return start, start + timedelta(seconds=rng.randint(1, 3600))


def states(rng: Random) -> str:
    draw = rng.random()
    if draw < RUNNING_SHARE:
        return "running"
    return "failed" if draw < RUNNING_SHARE + FAILED_SHARE else "succeeded"


def copy_rows(raw, family: str, count: int, tenant_ids, instance_ids, now) -> None:
    """COPY `count` rows of `family` into its table."""
    columns, table = COPY_COLUMNS[family]
    with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in ROW_MAKERS[family](count, tenant_ids, instance_ids, now):
            copy.write_row(row)


def progress_rows(count, tenant_ids, _instances, now) -> Iterator[tuple]:
    rng = Random(1)  # noqa: S311 - reproducible data, not secrets
    names = {"running": "running", "failed": "failed", "succeeded": "completed"}
    for n in range(count):
        state = states(rng)
        start, end = job_times(rng, now, state)
        done = 50.0 if state == "running" else 100.0
        yield (rng.choice(tenant_ids), "Course", n % 5000, None, None, "course_batch_update",
               done, names[state], None, None, start, end or start)  # fmt: skip


def async_status_rows(count, tenant_ids, _instances, now) -> Iterator[tuple]:
    rng = Random(2)  # noqa: S311 - reproducible data, not secrets
    names = {"running": "PENDING", "failed": "FAILED", "succeeded": "SUCCEEDED"}
    for _ in range(count):
        state = states(rng)
        start, end = job_times(rng, now, state)
        yield (rng.choice(tenant_ids), names[state], "Async job.", start, end, None, end or start)


def asset_job_rows(count, tenant_ids, instances, now) -> Iterator[tuple]:
    rng = Random(3)  # noqa: S311 - reproducible data, not secrets
    names = {"running": "Running", "failed": "Failed", "succeeded": "Finished"}
    for _ in range(count):
        state, tenant_id = states(rng), rng.choice(tenant_ids)
        start, end = job_times(rng, now, state)
        progress = 0.5 if state == "running" else 1.0
        yield (uuid.UUID(int=rng.getrandbits(128)).hex, tenant_id, instances[tenant_id],
               "importAsset", names[state], progress, start, end, end or start)  # fmt: skip


COPY_COLUMNS = {
    "progress": (
        ["tenant_id", "context_type", "context_id", "course_id", "user_id", "tag", "completion",
         "workflow_state", "message", "results", "created_at", "updated_at"],
        "progress_progress",
    ),
    "async_status": (
        ["tenant_id", "status", "message", "start_time", "end_time", "user_id", "updated_at"],
        "async_status_asyncstatus",
    ),
    "asset_jobs": (
        ["id", "tenant_id", "instance_id", "type", "status", "progress_percent", "begin_time",
         "end_time", "updated_at"],
        "asset_jobs_assetjob",
    ),
}  # fmt: skip
ROW_MAKERS = {
    "progress": progress_rows,
    "async_status": async_status_rows,
    "asset_jobs": asset_job_rows,
}

PAGES = {
    "progress": ("/admin/progress/progress/", "workflow_state__exact=running", "created_at"),
    "async_status": ("/admin/async_status/asyncstatus/", "status__exact=PENDING", "start_time"),
    "asset_jobs": ("/admin/asset_jobs/assetjob/", "status__exact=Running", "begin_time"),
}


def pages(tenant_id: int, now: datetime) -> list[tuple[str, str]]:
    """Return (label, URL) of every page timed."""
    since = urlencode({"since": (now - timedelta(days=7)).isoformat()}).split("=", 1)[1]
    listed = [
        ("dashboard (admin index)", "/admin/"),
        ("dashboard's JSON", "/admin/jobdesk/dashboard.json"),
    ]
    for family, (base, running, started) in PAGES.items():
        listed += [
            (f"{family}: default", base),
            (f"{family}: running", f"{base}?{running}"),
            (f"{family}: one tenant", f"{base}?tenant={tenant_id}"),
            (f"{family}: past 7 days", f"{base}?{started}__gte={since}"),
            (f"{family}: stuck", f"{base}?stuck=yes"),
            (f"{family}: failed, cancels apart", f"{base}?outcome=failed"),
            (f"{family}: search", f"{base}?q=nothing-matches-this"),
            (f"{family}: page 50", f"{base}?p=50"),
        ]
    return listed


def median_ms(client, url: str, runs: int) -> float | None:
    """Return the median response time of `url` in ms, or None when it is not a page here."""
    if client.get(url).status_code != 200:
        return None
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def measure(context: dict, runs: int) -> None:
    from django.test import Client

    clients = {}
    for who in ["superuser", "operator"]:
        clients[who] = Client()
        clients[who].force_login(context[who])
    print("\n| page | superuser (ms) | tenant operator (ms) |\n|---|---:|---:|")
    for label, url in pages(context["tenant"].pk, datetime.now(UTC)):
        timings = [median_ms(clients[who], url, runs) for who in ["superuser", "operator"]]
        shown = ["-" if ms is None else f"{ms:.0f}" for ms in timings]
        print(f"| {label} | {shown[0]} | {shown[1]} |")


def postgres_url() -> str:
    """Return DATABASE_URL, or exit saying a benchmark needs PostgreSQL."""
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith("postgres"):
        sys.exit(
            "Set DATABASE_URL to a PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/postgres"
        )
    return base_url


def main() -> None:
    args = parse_args()
    base_url = postgres_url()
    recreate_database(base_url, args.database)
    try:
        setup_django(with_database(base_url, args.database))
        print(f"Loading {args.rows:,} jobs into {args.database} ...")
        started = time.perf_counter()
        context = load(args.rows)
        print(f"Loaded and analysed in {time.perf_counter() - started:.0f} s.")
        measure(context, args.runs)
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            recreate_database(base_url, args.database, drop_only=True)


if __name__ == "__main__":
    main()
