"""The real gunicorn of config/gunicorn.py: slow clients never freeze it, and no Canvas key
reaches its log.

gunicorn runs from the production configuration with 2 workers of 2 threads and short header
and body timeouts (so the test takes seconds), against a SQLite file holding one Canvas job.
The slow clients are raw sockets: more of them than the server has threads.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

from tests.clones import clean_environment, free_port, start, wait_for, wait_for_output

pytestmark = [pytest.mark.e2e, pytest.mark.long]

ROOT = Path(settings.BASE_DIR)
THREADS = 2 * 2  # WEB_CONCURRENCY times GUNICORN_THREADS below
TIMEOUT_SECONDS = 2  # GUNICORN_HEADER_TIMEOUT and GUNICORN_BODY_TIMEOUT below
CLIENT_TIMEOUT = 10  # how long a test client waits for an answer before the test fails
SEED = """
from progress.services import progress_create
from django.contrib.auth.models import User
from tenancy.services import membership_grant, tenant_create, token_issue
tenant = tenant_create(slug="acme", name="Acme")
user = User.objects.create(username="poller")
membership_grant(user=user, tenant=tenant, role_name="operations")
job = progress_create(tenant=tenant, tag="t", context_type="Account", context_id=1)
print(job.pk, token_issue(user=user, tenant=tenant, name="t")[1])
"""


@dataclass
class Server:
    port: int
    job_id: str
    key: str
    log: Path
    process: subprocess.Popen

    def connect(self) -> socket.socket:
        client = socket.create_connection(("127.0.0.1", self.port), timeout=CLIENT_TIMEOUT)
        return client

    def poll(self, *, key_in_query: bool = False) -> tuple[bytes, dict]:
        """Read the job as a client would; return the status line and the JSON body."""
        target, credential = (
            f"/api/v1/progress/{self.job_id}",
            f"Authorization: Bearer {self.key}\r\n",
        )
        if key_in_query:
            target, credential = f"{target}?access_token={self.key}", ""
        with self.connect() as client:
            client.sendall(
                f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n{credential}"
                "Connection: close\r\n\r\n".encode()
            )
            head, _, body = read_all(client).partition(b"\r\n\r\n")
        return head.split(b"\r\n")[0], json.loads(body)


def read_all(client: socket.socket) -> bytes:
    """Read until the server closes the connection (the client's timeout bounds the wait).

    A slow client still sending when the server closes is reset: the answer it got first
    is what counts.
    """
    received = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := client.recv(65536):
            received += chunk
    return received


def manage(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run(  # noqa: S603 - a fixed command line
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("slow-clients")
    port = free_port()
    env = clean_environment(
        DJANGO_DEBUG="1",
        DATABASE_URL=f"sqlite:///{folder / 'db.sqlite3'}",
        HOST="127.0.0.1",
        PORT=str(port),
        WEB_CONCURRENCY="2",
        GUNICORN_THREADS="2",
        GUNICORN_HEADER_TIMEOUT=str(TIMEOUT_SECONDS),
        GUNICORN_BODY_TIMEOUT=str(TIMEOUT_SECONDS),
    )
    manage("migrate", "--no-input", "-v0", env=env)
    job_id, key = manage("shell", "-c", SEED, env=env).splitlines()[-1].split()
    log = folder / "gunicorn.log"
    gunicorn = start(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "config/gunicorn.py", "config.wsgi"],
        cwd=ROOT,
        env=env,
        log=log,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", gunicorn, log)
        yield Server(port, job_id, key, log, gunicorn)
    finally:
        os.killpg(gunicorn.pid, signal.SIGTERM)
        gunicorn.wait(timeout=60)


@pytest.fixture
def slow_clients(server) -> Iterator[list[socket.socket]]:
    """Return a function opening connections that stay open until the test ends."""
    with ExitStack() as stack:
        yield lambda count: [stack.enter_context(server.connect()) for _ in range(count)]


def drip(clients: list[socket.socket], stop: threading.Event) -> None:
    """Send each client's request a header line at a time, one line every half second."""
    while not stop.wait(0.5):
        for client in clients:
            with contextlib.suppress(OSError):  # the server closed it: what the test wants
                client.sendall(b"X-Slow: yes\r\n")


def test_a_poll_is_answered_while_more_slow_clients_than_threads_send_their_headers(
    server, slow_clients
):
    clients = slow_clients(3 * THREADS)
    for client in clients:
        client.sendall(f"GET /api/v1/progress/{server.job_id} HTTP/1.1\r\n".encode())
    stop = threading.Event()
    dripping = threading.Thread(target=drip, args=(clients, stop))
    dripping.start()
    try:
        status, body = server.poll()
        # Past the header timeout each slow client is answered 408 and cut off.
        answers = [read_all(client) for client in clients]
    finally:
        stop.set()
        dripping.join()

    assert status == b"HTTP/1.1 200 OK"
    assert (body["id"], body["workflow_state"]) == (int(server.job_id), "queued")
    assert all(answer.startswith(b"HTTP/1.1 408 Request Timeout") for answer in answers), answers


def test_clients_that_send_less_body_than_they_declare_are_cut_off_and_block_no_one(
    server, slow_clients
):
    clients = slow_clients(3 * THREADS)
    for client in clients:
        client.sendall(
            f"POST /api/v1/progress/{server.job_id}/cancel HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {server.key}\r\nContent-Type: application/json\r\n"
            "Content-Length: 1000000\r\n\r\n{}".encode()
        )

    status, body = server.poll()
    answers = [read_all(client) for client in clients]

    assert status == b"HTTP/1.1 200 OK"
    assert body["workflow_state"] == "queued"  # no cancel reached the application
    assert all(answer.startswith(b"HTTP/1.1 408 Request Timeout") for answer in answers), answers
    assert server.poll()[1]["workflow_state"] == "queued"


def test_a_canvas_key_sent_as_access_token_never_reaches_the_access_log(server):
    status, body = server.poll(key_in_query=True)
    line = f'"GET /api/v1/progress/{server.job_id}?access_token=[redacted] HTTP/1.1" 200'
    wait_for_output(server.log, line, server.process)

    assert (status, body["id"]) == (b"HTTP/1.1 200 OK", int(server.job_id))
    assert server.key not in server.log.read_text()
