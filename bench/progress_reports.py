"""Benchmark: how many progress reports one worker makes per second, and how many reach the DB.

    .venv/bin/python bench/progress_reports.py [--seconds 5]

Runs one tracked job's handle in a tight loop for a few seconds (completion rising by
0.01 % per report), once writing every report (no throttle) and once throttled (a write per
whole percent or per JOBDESK_TRACKED_REPORT_INTERVAL seconds). Uses DATABASE_URL, or a
scratch SQLite file.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_DEBUG", "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
if "DATABASE_URL" not in os.environ:
    scratch = Path(tempfile.mkdtemp()) / "bench.sqlite3"
    os.environ["DATABASE_URL"] = f"sqlite:///{scratch}"

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from jobs.registry import families  # noqa: E402
from jobs.tasks import JobHandle  # noqa: E402
from tenancy.models import Tenant  # noqa: E402


class UnthrottledHandle(JobHandle):
    """The handle with its throttle off: every report is written."""

    def due(self, completion: float | None) -> bool:
        return True


def measure(handle_class: type[JobHandle], tenant: Tenant, seconds: float) -> JobHandle:
    """Report on a fresh job for `seconds`; return the handle (it counts reports and writes)."""
    jobs = families["progress"]
    job_id = jobs.create(tenant=tenant, tag="bench", user=None)
    jobs.start(job_id)
    handle = handle_class("progress", job_id)
    deadline = time.perf_counter() + seconds
    step = 0
    while time.perf_counter() < deadline:
        step += 1
        handle.report(completion=min(100.0, step / 100))
    return handle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    options = parser.parse_args()
    call_command("migrate", verbosity=0)
    tenant, _ = Tenant.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    print(f"database: {connection.vendor}; {options.seconds:g} s per run")
    for label, handle_class in [("unthrottled", UnthrottledHandle), ("throttled", JobHandle)]:
        handle = measure(handle_class, tenant, options.seconds)
        rate = handle.reports / options.seconds
        print(
            f"{label:<12} {rate:>10,.0f} reports/s  {handle.reports:>9,} reports  "
            f"{handle.writes:>6,} reached the database"
        )


if __name__ == "__main__":
    main()
