"""A fresh clone of the repository that reuses this run's virtualenv, and processes run in it.

The end-to-end tests of `make serve` and of the documentation's commands work in a clone of
HEAD (nothing of this checkout's own `.env`, database or static files), whose `.venv` is a
link to the virtualenv running the tests: installing from scratch would take minutes.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEADLINE_SECONDS = 120


def fresh_clone(folder: Path) -> Path:
    """Clone HEAD into `folder` and link its `.venv` to this run's virtualenv."""
    subprocess.run(  # noqa: S603 - fixed arguments
        ["git", "clone", "--quiet", str(ROOT), str(folder)],  # noqa: S607
        check=True,
        timeout=DEADLINE_SECONDS,
    )
    venv = Path(sys.prefix)
    stamps = sorted(venv.glob(".installed-*"), key=lambda path: path.stat().st_mtime)
    if not stamps:
        pytest.fail(f"{venv} was not made by `make install`: run the suite with `make test`.")
    (folder / ".venv").symlink_to(venv)
    # The clone's files are newer than the virtualenv: make must not install it again.
    installed = stamps[-1].stat().st_mtime
    os.utime(folder / "pyproject.toml", (installed - 1, installed - 1))
    return folder


def clean_environment(**extra: str) -> dict[str, str]:
    """This process's environment without jobdesk's settings, plus `extra`.

    PYTHON names the interpreter the virtualenv was made from, so make keeps it.
    """
    prefixes = ("DJANGO_", "DATABASE_URL", "REDIS_URL", "JOBDESK_", "PROMETHEUS_", "PORT", "HOST")
    env = {key: value for key, value in os.environ.items() if not key.startswith(prefixes)}
    base = getattr(sys, "_base_executable", sys.executable)
    return {**env, "PYTHON": base, **extra}


def free_port() -> int:
    """Return a free port on 127.0.0.1: one of JOBDESK_TEST_PORTS (e.g. `18300-18399`) when
    it is set, so servers the tests start stay in a range of the machine's owner's choosing."""
    first, _, last = os.environ.get("JOBDESK_TEST_PORTS", "0-0").partition("-")
    for port in range(int(first), int(last or first) + 1):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    pytest.fail(f"No free port in JOBDESK_TEST_PORTS={os.environ['JOBDESK_TEST_PORTS']}.")


def start(command: list[str], *, cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start a long-running command in a session of its own (as a terminal would)."""
    with log.open("ab") as output:
        return subprocess.Popen(  # noqa: S603 - the caller's fixed command
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def interrupt(process: subprocess.Popen, *, cwd: Path) -> None:
    """Press Ctrl-C (SIGINT to its process group); fail unless everything it ran stops."""
    try:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=DEADLINE_SECONDS)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    deadline = time.monotonic() + DEADLINE_SECONDS
    while (left := processes_in(cwd)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == [], f"still running after Ctrl-C: {left}"


def processes_in(folder: Path) -> list[int]:
    """Return the ids of the processes whose working directory is `folder`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if Path(os.readlink(entry / "cwd")) == folder:
                found.append(int(entry.name))
        except OSError:
            continue
    return found


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs) -> None:
        return None


OPENER = urllib.request.build_opener(NoRedirects)


def get(url: str, **headers: str) -> tuple[int, bytes]:
    """GET `url` without following redirects; return the status and body (errors too)."""
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - a loopback URL
    try:
        with OPENER.open(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_for(url: str, process: subprocess.Popen, log: Path, **headers: str) -> bytes:
    """Wait until `url` answers 200 (fail if the process ends or the deadline passes)."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            status, body = get(url, **headers)
        except OSError:
            status, body = 0, b""
        if status == 200:
            return body
        time.sleep(0.2)
    pytest.fail(f"{url} did not answer 200 in {DEADLINE_SECONDS} s:\n{log.read_text()[-4000:]}")


def wait_for_output(log: Path, text: str, process: subprocess.Popen) -> None:
    """Wait until the process has written `text` (fail if it ends or the deadline passes)."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while text not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"no {text!r} in the output:\n{log.read_text()[-4000:]}")
        time.sleep(0.1)
