"""Fixtures of the watching tests: every family, a job, and waiters in other threads."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from jobs import watch
from tenancy import caching
from tests.jobs.drivers import FamilyDriver, drivers
from tests.workers import ASGI_TEST_PORTS as DEFAULT_ASGI_PORTS

# Generous: a waiter that is woken returns in milliseconds; these only bound a broken test.
DEADLINE_SECONDS = 10
# A server process loads Django first (slow on a busy machine).
STARTING_SECONDS = 60


@pytest.fixture(params=drivers(), ids=lambda each: each.name)
def family(request) -> FamilyDriver:
    return request.param


@pytest.fixture
def job(family, tenant):
    return family.make(tenant)


@pytest.fixture
def raw_key(make_member, make_token, tenant, family) -> str:
    """An API token of a member who may read the family's jobs, and do nothing else.

    The role is its own: a transactional test starts with no seeded roles.
    """
    user = make_member(tenant, "reader", permissions=[family.family.read_permission])
    return make_token(user, tenant)


def watched_version(family: FamilyDriver, job) -> int:
    """Start the job's snapshot version, as a poll does, and return it."""
    return caching.current_version(family.family.snapshots.version_key(job.pk))


def until(condition: Callable[[], bool], what: str, seconds: float = DEADLINE_SECONDS) -> None:
    """Wait (with a deadline) until `condition()` holds."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out waiting until {what}.")
        time.sleep(0.005)


def subscribed(family_name: str, job_id) -> bool:
    """Return True once someone in this process listens to the job's changes."""
    hub = watch.get_hub()
    with hub.lock:
        return (family_name, str(job_id)) in hub.by_key


def until_listening(server, family_name: str, job_id, count: int = 1) -> None:
    """Wait until `count` streams or waits of `server` listen to the job's changes.

    Only a server in this process can be asked; with one of its own (`ProcessAsgiServer`),
    a stream that sent its first event listens already (it subscribes before it catches up).
    """
    if getattr(server, "process", None) is not None:
        return
    hub, key = watch.get_hub(), (family_name, str(job_id))

    def listening() -> int:
        with hub.lock:
            return len(hub.by_key.get(key, ()))

    until(lambda: listening() >= count, f"{count} listen to {key} ({listening()} do)")


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


class AsgiServer:
    """jobdesk's ASGI application (config.asgi) under uvicorn, over real HTTP.

    On PostgreSQL with Redis it runs in a process of its own (changes reach it on Redis, as
    in production); otherwise in a thread of this process, sharing the test database, with
    changes handed over inside the process.
    """

    host = "127.0.0.1"

    def __init__(self, port: int) -> None:
        self.port = port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def free_port() -> int:
    """Return a free port of the range the ASGI tests listen on."""
    import socket

    for port in range(*ASGI_TEST_PORTS):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.fail(f"No free port in {ASGI_TEST_PORTS}.")


# Where the ASGI tests listen (overridable for parallel checkouts; each worker of a parallel
# run has a slice of its own, tests/workers.py).
ASGI_TEST_RANGE = os.environ.get("JOBDESK_ASGI_TEST_PORTS", "").strip() or DEFAULT_ASGI_PORTS
ASGI_TEST_PORTS = tuple(int(each) for each in ASGI_TEST_RANGE.split("-"))


class ThreadedAsgiServer(AsgiServer):
    """uvicorn in a thread of the test process (SQLite, or no Redis)."""

    def __init__(self) -> None:
        import uvicorn

        from config.asgi import application

        super().__init__(free_port())
        config = uvicorn.Config(
            application, host=self.host, port=self.port, lifespan="off", log_config=None
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        until(lambda: self.server.started, "uvicorn listens")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(DEADLINE_SECONDS)


class ProcessAsgiServer(AsgiServer):
    """uvicorn in a process of its own, on the test database, hearing changes on Redis."""

    def __init__(self, database_url: str, channel: str) -> None:
        super().__init__(free_port())
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "JOBDESK_EVENTS_CHANNEL": channel,
            "JOBDESK_EVENTS_HEARTBEAT_SECONDS": "1",
            "DJANGO_DEBUG": "1",
        }
        command = [
            sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", self.host,
            "--port", str(self.port), "--log-level", "warning", "--no-access-log",
        ]  # fmt: skip
        self.process = subprocess.Popen(  # noqa: S603 - our own command line
            command, cwd=settings.BASE_DIR, env=env, stdin=subprocess.DEVNULL
        )
        try:
            until(self.answers, "uvicorn answers", STARTING_SECONDS)
        except BaseException:
            self.stop()  # never left running after a failed start
            raise

    def answers(self) -> bool:
        import httpx

        if self.process.poll() is not None:
            pytest.fail(f"uvicorn exited with {self.process.returncode}.")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code < 500
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(DEADLINE_SECONDS)


def database_url_of_tests() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture(scope="session")
def asgi_server_session(django_db_setup, django_db_blocker):
    """One ASGI server for the session (a process on PostgreSQL with Redis, else a thread)."""
    if connection.vendor == "postgresql" and settings.REDIS_URL:
        channel = f"{settings.CACHE_KEY_PREFIX or 'jobdesk-test'}:asgi-tests:events"
        server: AsgiServer = ProcessAsgiServer(database_url_of_tests(), channel)
        server.channel = channel
    else:
        server = ThreadedAsgiServer()
        server.channel = None
    yield server
    server.stop()


@pytest.fixture
def asgi_server(asgi_server_session, settings) -> AsgiServer:
    """The ASGI server, with this test's changes published where it listens."""
    if asgi_server_session.channel is not None:
        settings.JOBDESK_EVENTS_CHANNEL = asgi_server_session.channel
    return asgi_server_session
