"""Requests that must be answered even when what they need is down."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from http import HTTPStatus

import pytest
from django.db import close_old_connections, connections
from django.test import Client

from jobs.models import TrackedJob
from tests.jobs.drivers import FamilyDriver

PASSWORD = "correct horse battery"  # tests.factories.UserFactory's
# Far beyond any timeout of the settings under test: a request still unanswered by then hangs.
HANG_LIMIT_SECONDS = 30


class Worker:
    """One thread answering requests one after another with the same connections, as a sync
    server worker does: Django's request cycle closes a connection that failed (the test
    client leaves that out), so a poisoned connection would show on the next request."""

    def __init__(self) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1)

    def __call__(self, request: Callable[[], object]) -> object:
        """Return what `request()` answers; fail if it is unanswered after HANG_LIMIT_SECONDS."""
        try:
            return self.executor.submit(self.cycle, request).result(HANG_LIMIT_SECONDS)
        except FutureTimeout:
            pytest.fail(f"no answer within {HANG_LIMIT_SECONDS} s: the request hangs")

    @staticmethod
    def cycle(request: Callable[[], object]) -> object:
        close_old_connections()
        try:
            return request()
        finally:
            close_old_connections()

    def stop(self) -> None:
        self.executor.submit(connections.close_all).result(HANG_LIMIT_SECONDS)
        self.executor.shutdown()


def poll(worker: Worker, client: Client, family: FamilyDriver, job: TrackedJob, key: str):
    return worker(lambda: client.get(family.poll_path(job), **family.headers(key)))


def login(worker: Worker, client: Client, username: str, password: str = PASSWORD):
    body = json.dumps({"u": username, "p": password})
    return worker(lambda: client.post("/api/5.0/user/login", body, content_type="application/json"))


def assert_unavailable(response, family: FamilyDriver) -> None:
    """Assert `response` is a 503 with Retry-After in `family`'s envelope."""
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE, response.content
    assert int(response["Retry-After"]) >= 1
    assert family.error_key in response.json()
