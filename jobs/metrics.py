"""jobdesk's Prometheus metrics: counters where events happen, job gauges read at scrape time.

Counters and histograms are kept by each process that sees the event: a web process counts
requests and poll cache lookups, a worker counts tracked-task outcomes, the scheduler counts
reaped and purged jobs. When PROMETHEUS_MULTIPROC_DIR names a directory (`make serve` and the
Procfile set it), every process of the host writes its values there and `/metrics`, served by
any web process, adds them all up (prometheus-client's multiprocess mode); otherwise only the
serving process's own values are shown. The job gauges are not kept anywhere: each scrape
reads them from the database through the family registry, a few grouped queries per family.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from jobs.registry import families

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def multiprocess_dir() -> Path | None:
    """Return the directory shared by this host's processes, made if missing (None: unset)."""
    named = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
    if not named:
        return None
    path = Path(named)
    path.mkdir(parents=True, exist_ok=True)
    return path


# Made before the first metric, whose values are written there from then on.
multiprocess_dir()

REQUEST_SECONDS = Histogram(
    "jobdesk_http_request_duration_seconds",
    "Time to answer an HTTP request, by route pattern and status (its _count counts requests).",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
POLL_LOOKUPS = Counter(
    "jobdesk_poll_snapshot_lookups_total",
    "Job reads answered from a cached snapshot (hit) or from the database (miss).",
    ["family", "result"],
)
TRACKED_TASKS = Counter(
    "jobdesk_tracked_tasks_total",
    "Tracked task runs by how they ended: succeeded, failed, cancelled, interrupted, "
    "not_started (cancelled before a worker picked it up).",
    ["family", "outcome"],
)
REAPED_JOBS = Counter(
    "jobdesk_reaped_jobs_total",
    "Running jobs failed by reap_stuck_jobs because their worker showed no sign of life.",
    ["family"],
)
PURGED_JOBS = Counter(
    "jobdesk_purged_jobs_total",
    "Finished jobs deleted by purge_finished_jobs once past their retention.",
    ["family"],
)
MAINTENANCE_RUNS = Counter(
    "jobdesk_maintenance_runs_total",
    "Runs of the maintenance commands (reap_stuck_jobs, purge_finished_jobs).",
    ["command"],
)
MAINTENANCE_LAST_RUN = Gauge(
    "jobdesk_maintenance_last_run_timestamp_seconds",
    "When a maintenance command last finished (Unix time).",
    ["command"],
    multiprocess_mode="max",
)


class PollCounter:
    """The poll path's hit and miss counters of each family, looked up once."""

    def __init__(self) -> None:
        self.children: dict[tuple[str, str], Counter] = {}

    def count(self, family: str, *, hit: bool) -> None:
        key = (family, "hit" if hit else "miss")
        child = self.children.get(key)
        if child is None:
            child = self.children[key] = POLL_LOOKUPS.labels(*key)
        child.inc()


poll_lookups = PollCounter()


def maintenance_ran(command: str) -> None:
    """Record that a maintenance command has just finished."""
    MAINTENANCE_RUNS.labels(command).inc()
    MAINTENANCE_LAST_RUN.labels(command).set_to_current_time()


class JobsCollector:
    """The job gauges of every registered family, read from the database at each scrape."""

    def collect(self) -> Iterator[Metric]:
        jobs = GaugeMetricFamily(
            "jobdesk_jobs",
            "Jobs by family and state, every tenant together.",
            labels=["family", "state", "outcome"],
        )
        oldest = GaugeMetricFamily(
            "jobdesk_oldest_pending_job_age_seconds",
            "Age of the oldest job not finished yet, by family (0 when none is pending).",
            labels=["family"],
        )
        now = timezone.now()
        for family in families:
            counts = family.jobs().order_by().values_list(family.state_field).annotate(Count("pk"))
            for state, count in counts:
                jobs.add_metric([family.name, state, family.outcome(state)], count)
            started = family.jobs().pending().aggregate(first=Min(family.started_field))["first"]
            age = (now - started).total_seconds() if started is not None else 0.0
            oldest.add_metric([family.name], max(age, 0.0))
        yield jobs
        yield oldest


class ProcessCollectors:
    """This process's own metrics (single-process mode) and the job gauges."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()
        yield from JobsCollector().collect()


def exposition() -> bytes:
    """Return every metric in Prometheus' text format."""
    if multiprocess_dir() is None:
        return generate_latest(ProcessCollectors())
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    registry.register(JobsCollector())
    return generate_latest(registry)
