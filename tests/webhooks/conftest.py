"""Fixtures of the webhook tests: a real receiver on loopback, endpoints, and queued attempts."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import TestCase
from django.utils import timezone
from django_tasks import default_task_backend

from webhooks import services

# The receivers of these tests listen on loopback ports of this range only.
PORTS = range(18500, 18600)
# A job's ending events: one per job that is finished (a start would add progress events).
ENDINGS = ("finished", "failed", "cancelled")
DUMMY_TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    status: int = HTTPStatus.OK
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"


class Receiver:
    """A webhook receiver: records every POST, answers from its script, then 200."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.script: list[Answer] = []
        self.always: Answer | None = None
        self.server = bind(self.handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                receiver.received.append(Received(dict(self.headers), self.rfile.read(length)))
                answer = receiver.next_answer()
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, *args) -> None:
                pass

        return Handler

    def next_answer(self) -> Answer:
        if self.script:
            return self.script.pop(0)
        return self.always or Answer()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def bind(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    """Return a server on the first free port of `PORTS`."""
    for port in PORTS:
        try:
            return ThreadingHTTPServer(("127.0.0.1", port), handler)
        except OSError:
            continue
    pytest.fail(f"No free port in {PORTS.start}-{PORTS.stop - 1} for a webhook receiver.")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.stop()


@pytest.fixture(autouse=True)
def webhook_settings(settings):
    """Loopback receivers allowed, retries fast, attempts queued in memory (not run)."""
    settings.JOBDESK_WEBHOOKS_ALLOW_PRIVATE = True
    settings.JOBDESK_WEBHOOKS_RETRY_BASE_SECONDS = 10
    settings.JOBDESK_WEBHOOKS_MAX_ATTEMPTS = 4
    settings.JOBDESK_WEBHOOKS_TIMEOUT_SECONDS = 5
    settings.JOBDESK_WEBHOOKS_BASE_URL = "http://testserver"
    settings.TASKS = DUMMY_TASKS
    default_task_backend.clear()
    yield settings
    default_task_backend.clear()


@pytest.fixture
def make_endpoint(db) -> Callable:
    """Return a function registering an endpoint of `tenant`: (endpoint, secret).

    By default it receives every family's endings.
    """

    def make(tenant, url: str, *, families=None, events=ENDINGS, **fields):
        from jobs.registry import families as registry

        return services.endpoint_create(
            tenant=tenant,
            url=url,
            families=list(families or registry.names()),
            events=list(events),
            **fields,
        )

    return make


def queued() -> list:
    """Return the delivery attempts enqueued so far (their task results)."""
    return list(default_task_backend.results)


def run_due_attempts() -> int:
    """Run every queued attempt whose time has come (as a worker would); return how many.

    A worker runs outside any transaction: what an attempt enqueues after its commit (the
    next attempt) is enqueued at once.
    """
    now = timezone.now()
    due = [
        result
        for result in default_task_backend.results
        if result.task.run_after is None or result.task.run_after <= now
    ]
    for result in due:
        default_task_backend.results.remove(result)
        with TestCase.captureOnCommitCallbacks(execute=True):
            result.task.call(*result.args, **result.kwargs)
    return len(due)
