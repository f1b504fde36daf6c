"""Waiting for a change in this process: threads and asyncio, wake-ups and timeouts."""

from __future__ import annotations

import asyncio
import time

import pytest

from jobs import watch
from tests.jobs.watch.conftest import (
    DEADLINE_SECONDS,
    subscribed,
    until,
    watched_version,
    woken_by_the_change,
)

pytestmark = pytest.mark.django_db


def test_a_waiting_thread_wakes_when_the_job_changes(
    family, job, in_thread, django_capture_on_commit_callbacks
):
    seen = watched_version(family, job)
    waiter = in_thread(
        lambda: watch.wait_for_change(
            family.name, job.pk, seen_version=seen, timeout=DEADLINE_SECONDS
        )
    )
    until(lambda: subscribed(family.name, job.pk), "the waiter listens")

    with django_capture_on_commit_callbacks(execute=True):
        family.finish(job)
    committed_at = time.monotonic()
    change = waiter.result()

    assert woken_by_the_change(change, seen)
    assert change.job_id == str(job.pk)
    assert waiter.finished_at - committed_at < 1.0


def test_a_wait_returns_none_at_its_timeout_when_nothing_changes(family, job):
    seen = watched_version(family, job)
    started = time.monotonic()

    change = watch.wait_for_change(family.name, job.pk, seen_version=seen, timeout=0.2)

    assert change is None
    assert 0.2 <= time.monotonic() - started < DEADLINE_SECONDS
    assert not subscribed(family.name, job.pk)  # it cleaned up after itself


def test_a_wait_returns_at_once_when_the_job_changed_before_it_began(
    family, job, django_capture_on_commit_callbacks
):
    seen = watched_version(family, job)
    with django_capture_on_commit_callbacks(execute=True):
        family.finish(job)

    change = watch.wait_for_change(family.name, job.pk, seen_version=seen, timeout=30)

    assert change is not None
    assert change.version != seen


def test_a_wait_without_a_version_to_compare_returns_at_once(family, job):
    assert watch.wait_for_change(family.name, job.pk, seen_version=None, timeout=30) is not None


def test_an_async_wait_wakes_when_the_job_changes(
    family, job, in_thread, django_capture_on_commit_callbacks
):
    seen = watched_version(family, job)
    waiter = in_thread(
        lambda: asyncio.run(
            watch.await_change(family.name, job.pk, seen_version=seen, timeout=DEADLINE_SECONDS)
        )
    )
    until(lambda: subscribed(family.name, job.pk), "the async waiter listens")

    with django_capture_on_commit_callbacks(execute=True):
        family.finish(job)
    change = waiter.result()

    assert woken_by_the_change(change, seen)


def test_an_async_wait_times_out_with_none(family, job):
    seen = watched_version(family, job)

    change = asyncio.run(watch.await_change(family.name, job.pk, seen_version=seen, timeout=0.1))

    assert change is None


def test_without_redis_waits_come_back_to_read_again_within_the_snapshot_lifetime(
    settings, family, job
):
    settings.REDIS_URL = ""
    settings.JOBDESK_SNAPSHOT_SECONDS = 1
    seen = watched_version(family, job)
    started = time.monotonic()

    # Another process's write would reach this one only through an expired snapshot.
    change = watch.wait_for_change(family.name, job.pk, seen_version=seen, timeout=30)

    assert change is None
    assert time.monotonic() - started < 5
    assert watch.recheck_seconds() == 1
