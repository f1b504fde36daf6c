"""The ASGI deployment (config.asgi under uvicorn): streams and waits hold no thread each.

Real HTTP over raw sockets, hundreds at once, against the server of `asgi_server` (its own
process on PostgreSQL with Redis, a thread of this one otherwise).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from http import HTTPStatus
from pathlib import Path

import pytest
from django.conf import settings

from lro.family import OPERATION_READ
from lro.services import operation_finish
from tests.jobs.drivers import drivers
from tests.jobs.watch.conftest import (
    DEADLINE_SECONDS,
    STARTING_SECONDS,
    AsgiServer,
    free_port,
    until,
    until_listening,
)
from tests.lro.factories import make_operation

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

STREAMS = 200
WAITS = 100
# Far below one per stream: the event loop, its executor's few threads, the hub's listener.
THREADS_AT_MOST = 40


@pytest.fixture
def family():
    return drivers()[0]


class RawClient:
    """One HTTP/1.1 request on a socket of its own, read a piece at a time."""

    def __init__(
        self, server: AsgiServer, path: str, headers: dict[str, str], *, json_body: str = ""
    ) -> None:
        self.sock = socket.create_connection((server.host, server.port), DEADLINE_SECONDS)
        method = "POST" if json_body else "GET"
        lines = [f"{method} {path} HTTP/1.1", f"Host: {server.host}:{server.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if json_body:
            lines += ["Content-Type: application/json", f"Content-Length: {len(json_body)}"]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n" + json_body).encode())
        self.received = b""

    def read_until(self, marker: bytes, after: int = 0) -> bytes:
        """Read until `marker` appears past offset `after`; return everything read so far."""
        while self.received.find(marker, after) < 0:
            chunk = self.sock.recv(65536)
            if not chunk:
                pytest.fail(f"The server closed the connection before {marker!r}.")
            self.received += chunk
        return self.received

    def status(self) -> int:
        return int(self.read_until(b"\r\n").split(b" ", 2)[1])

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def clients():
    opened: list[RawClient] = []
    yield opened
    for client in opened:
        client.close()


def auth(family, raw_key: str) -> dict[str, str]:
    if family.poll_header == "X-Auth-Token":
        return {"X-Auth-Token": raw_key}
    return auth_of(raw_key)


def auth_of(raw_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw_key}"}


def server_threads(server: AsgiServer) -> int:
    """Return how many threads the server runs (this process's, for a threaded server)."""
    process = getattr(server, "process", None)
    if process is None:
        return threading.active_count()
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    pytest.fail("No thread count in /proc.")


def test_hundreds_of_streams_and_waits_hold_no_thread_each_and_all_hear_a_change(
    asgi_server, family, tenant, raw_key, clients
):
    job = family.make(tenant)
    headers = auth(family, raw_key)
    read = RawClient(asgi_server, family.poll_path(job), headers)
    clients.append(read)
    etag = read.read_until(b"\r\n\r\n").split(b'etag: "', 1)[1].split(b'"', 1)[0]
    for _ in range(STREAMS):
        clients.append(RawClient(asgi_server, f"/api/events?job={family.name}:{job.pk}", headers))
    streams = clients[1:]
    for stream in streams:
        stream.read_until(b"\n\n", stream.read_until(b"\r\n\r\n").index(b"\r\n\r\n") + 4)
    wait_path, unchanged = f"{family.poll_path(job)}?wait=30", f'"{etag.decode()}"'
    for _ in range(WAITS):
        clients.append(RawClient(asgi_server, wait_path, {**headers, "If-None-Match": unchanged}))
    waits = clients[1 + STREAMS :]
    until_listening(asgi_server, family.name, job.pk, STREAMS + WAITS)

    held = server_threads(asgi_server)
    next(iter(family.writes().values()))(job)

    assert held <= THREADS_AT_MOST, f"{held} threads for {STREAMS} streams and {WAITS} waits"
    for stream in streams:
        first_end = stream.received.index(b"\n\n", stream.received.index(b"\r\n\r\n")) + 2
        stream.read_until(f"event: {family.name}".encode(), first_end)  # or times out
    for wait in waits:
        assert wait.status() == HTTPStatus.OK


def test_a_client_that_never_finishes_its_request_delays_no_one(
    asgi_server, family, tenant, raw_key, clients
):
    job = family.make(tenant)
    stalled = socket.create_connection((asgi_server.host, asgi_server.port), DEADLINE_SECONDS)
    stalled.sendall(b"GET /api/events?job=")  # and nothing more
    try:
        stream = RawClient(
            asgi_server, f"/api/events?job={family.name}:{job.pk}", auth(family, raw_key)
        )
        clients.append(stream)

        assert stream.status() == HTTPStatus.OK
        assert f"event: {family.name}".encode() in stream.read_until(b"\n\n")
    finally:
        stalled.close()


def test_googles_wait_is_held_in_the_event_loop_and_answers_the_finished_operation(
    asgi_server, tenant, make_member, make_token, clients
):
    op = make_operation(tenant)
    key = make_token(make_member(tenant, "reader", permissions=[OPERATION_READ]), tenant)
    waiting = RawClient(
        asgi_server, f"/v1/{op.name}:wait", auth_of(key), json_body='{"timeout": "30s"}'
    )
    clients.append(waiting)
    until_listening(asgi_server, "lro", op.pk)

    operation_finish(op, response={"rows": 9})

    assert waiting.status() == HTTPStatus.OK
    assert b'"done":true' in waiting.read_until(b'"rows":9')


def test_uvicorns_access_log_masks_a_canvas_key_sent_as_access_token(tmp_path):
    port = free_port()
    log = tmp_path / "uvicorn.log"
    command = [sys.executable, "-m", "uvicorn", "config.asgi:application", "--port", str(port)]
    with log.open("wb") as output:
        server = subprocess.Popen(  # noqa: S603 - a fixed command line
            command, cwd=settings.BASE_DIR, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        until(lambda: answers(port), "uvicorn answers", STARTING_SECONDS)
        until(lambda: b"/healthz?access_token=" in log.read_bytes(), "the request is logged")
    finally:
        server.terminate()
        server.wait(DEADLINE_SECONDS)

    assert b"jd_secret" not in log.read_bytes()
    assert b"access_token=[redacted]" in log.read_bytes()


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), 1) as sock:
            sock.sendall(b"GET /healthz?access_token=jd_secret HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            return sock.recv(12).startswith(b"HTTP/1.1 200")
    except OSError:
        return False
