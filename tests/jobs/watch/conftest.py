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


class EventReader:
    """Read server-sent events from a live server, each read bounded by a deadline."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        import httpx

        self.client = httpx.Client(timeout=DEADLINE_SECONDS)
        self.context = self.client.stream("GET", url, headers=headers)
        self.response = self.context.__enter__()
        self.lines = self.response.iter_lines()
        self.comments: list[str] = []

    @property
    def status_code(self) -> int:
        return self.response.status_code

    def next(self) -> dict[str, str] | None:
        """Return the next event's fields (event, id, data), or None once the stream ends."""
        fields: dict[str, str] = {}
        for line in self.lines:
            if not line:
                if fields:
                    return fields
                continue
            if line.startswith(":"):
                self.comments.append(line)
                if not fields:
                    return {"comment": line}
                continue
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
        return fields or None

    def events(self, count: int) -> list[dict[str, str]]:
        found = []
        while len(found) < count:
            event = self.next()
            if event is None:
                break
            if "comment" not in event:
                found.append(event)
        return found

    def close(self) -> None:
        self.context.__exit__(None, None, None)
        self.client.close()


@pytest.fixture
def open_stream():
    """Return a function opening an event stream; every stream is closed after the test."""
    readers: list[EventReader] = []

    def open_(url: str, headers: dict[str, str]) -> EventReader:
        reader = EventReader(url, headers)
        readers.append(reader)
        return reader

    yield open_
    for reader in readers:
        reader.close()
