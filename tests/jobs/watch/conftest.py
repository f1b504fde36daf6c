"""Fixtures of the watching tests: every family, a job, and waiters in other threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from jobs import watch
from tenancy import caching
from tests.jobs.drivers import FamilyDriver, drivers

# Generous: a waiter that is woken returns in milliseconds; these only bound a broken test.
DEADLINE_SECONDS = 10


@pytest.fixture(params=drivers(), ids=lambda each: each.name)
def family(request) -> FamilyDriver:
    return request.param


@pytest.fixture
def job(family, tenant):
    return family.make(tenant)


def watched_version(family: FamilyDriver, job) -> int:
    """Start the job's snapshot version, as a poll does, and return it."""
    return caching.current_version(family.family.snapshots.version_key(job.pk))


def until(condition: Callable[[], bool], what: str) -> None:
    """Wait (with a deadline) until `condition()` holds."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out waiting until {what}.")
        time.sleep(0.005)


def subscribed(family_name: str, job_id) -> bool:
    """Return True once someone in this process listens to the job's changes."""
    hub = watch.get_hub()
    with hub.lock:
        return (family_name, str(job_id)) in hub.by_key


class Waiter:
    """A call running in another thread; `result()` joins it with a deadline."""

    def __init__(self, call: Callable[[], Any]) -> None:
        self.value: Any = None
        self.error: BaseException | None = None
        self.finished_at: float | None = None
        self.thread = threading.Thread(target=self.run, args=(call,), daemon=True)
        self.thread.start()

    def run(self, call: Callable[[], Any]) -> None:
        try:
            self.value = call()
        except BaseException as error:
            self.error = error
        self.finished_at = time.monotonic()

    def result(self) -> Any:
        self.thread.join(DEADLINE_SECONDS)
        if self.thread.is_alive():
            pytest.fail("The waiter did not return before the deadline.")
        if self.error is not None:
            raise self.error
        return self.value


@pytest.fixture
def in_thread() -> Callable[[Callable[[], Any]], Waiter]:
    return Waiter


def woken_by_the_change(change: watch.JobChange | None, seen: int) -> bool:
    """A waiter hears the change, or finds the version moved when it looked (a write racing
    its start): both are a wake-up for this change."""
    return change is not None and (change.ended or change.version not in (None, seen))
