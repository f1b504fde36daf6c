"""The documentation holds: its links resolve, the README stays short, its commands work.

The curl commands shown in README.md and docs/api/*.md run, with the real `curl`, against a
live server holding the demo data; the other commands of `bash` blocks (make, manage.py) run
as written, in reading order, in a fresh clone. docs/development/testing.md says which blocks
are run and how a `<placeholder>` takes the value `manage.py demo` printed.
"""

import os
import pty
import re
import select
import sqlite3
import subprocess
import time
from io import StringIO
from pathlib import Path
from urllib.parse import unquote

import pytest
from django.core.management import call_command

from asset_jobs.tasks import DEMO_HANDLERS
from tests.clones import (
    clean_environment,
    free_port,
    fresh_clone,
    interrupt,
    start,
    wait_for,
    wait_for_output,
)
from tests.markdown import anchors, curl_commands, markdown_files, relative_links, shell_commands

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
DOCS_BASE_URL = "http://127.0.0.1:8000"
README_LIMIT_BYTES = 10_000
PLACEHOLDER = re.compile(r"<[a-z_]+>")
PRINTED_URL = re.compile(r"https?://[^\s'\"]+")
RUN_PAGES = [ROOT / "README.md", *sorted((ROOT / "docs" / "api").glob("*.md"))]
# The status code alone on the last line of curl's output, after the body.
WRITE_OUT = "\n%{http_code}"


def page_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("page", markdown_files(ROOT), ids=page_id)
def test_every_relative_link_names_an_existing_file_and_heading(page):
    broken = []
    for target in relative_links(page.read_text()):
        path, _, fragment = target.partition("#")
        linked = (page.parent / unquote(path)).resolve() if path else page
        if not linked.exists():
            broken.append(f"{target}: no file {linked}")
        elif fragment and linked.suffix == ".md" and fragment not in anchors(linked.read_text()):
            broken.append(f"{target}: no heading with anchor #{fragment} in {linked.name}")

    assert broken == []


def test_readme_is_a_landing_page_of_at_most_10_kb():
    assert len((ROOT / "README.md").read_bytes()) <= README_LIMIT_BYTES


@pytest.fixture
def demo_urls(seeded_roles, live_server, settings) -> list[str]:
    """Load the demo data for the live server and return the URLs `manage.py demo` printed."""
    settings.JOBDESK_ASSET_JOB_HANDLERS = DEMO_HANDLERS  # as `make run` configures them
    out = StringIO()
    call_command("demo", base_url=live_server.url, allow_without_debug=True, stdout=out)
    return PRINTED_URL.findall(out.getvalue())


def with_demo_values(word: str, base_url: str, printed: list[str]) -> str:
    """Return `word` on the live server, its placeholders filled from a URL the demo printed."""
    word = word.replace(DOCS_BASE_URL, base_url)
    if not PLACEHOLDER.search(word):
        return word
    pattern = "[^/?#]+".join(re.escape(part) for part in PLACEHOLDER.split(word))
    match = next((url for url in printed if re.fullmatch(pattern, url)), None)
    if match is None:
        pytest.fail(f"{word} matches no URL `manage.py demo` prints: {printed}", pytrace=False)
    return match


def run_curl(command: list[str], folder: Path) -> tuple[int, str, str]:
    """Run a documented curl command; return its exit code, HTTP status and error output."""
    argv = ["curl", "--silent", "--show-error", "--max-time", "30", "--write-out", WRITE_OUT]
    result = subprocess.run(  # noqa: S603 - curl with the documentation's own arguments
        [*argv, *command[1:]], cwd=folder, capture_output=True, timeout=60, check=False
    )
    status = result.stdout.rsplit(b"\n", 1)[-1].decode()
    return result.returncode, status, result.stderr.decode(errors="replace")


@pytest.mark.parametrize("page", RUN_PAGES, ids=page_id)
def test_curl_commands_shown_in_the_page_answer_below_400(page, live_server, demo_urls, tmp_path):
    commands = curl_commands(page.read_text())
    assert commands, f"{page_id(page)} shows no curl command to run"
    failures = []
    for command in commands:
        command = [with_demo_values(word, live_server.url, demo_urls) for word in command]
        code, status, errors = run_curl(command, tmp_path)
        if code != 0 or not status.isdigit() or int(status) >= 400:
            failures.append(f"{' '.join(command)}: exit {code}, HTTP {status} {errors}")

    assert failures == []


# The documentation's other commands, run as written on a fresh clone --------------------------

# Commands shown in `bash` blocks that this test does not run, and what runs them instead.
RUN_ELSEWHERE = {
    "make test": "CI runs it (.ci/run); running it here would run this suite again",
}
# Long-running commands: started, checked to be up, then stopped with Ctrl-C.
SERVER = re.compile(r"^make run\b")
WORKER = re.compile(r"^(make worker\b|.*manage\.py (db_worker|task_worker)\b)")
SUPERUSER_PASSWORD = "a long passphrase for alice"
COMMAND_SECONDS = 120
DEMO_TASK_TAGS = ("demo_course_copy", "demo_import_that_fails", "demo_export_cancelled")


def documented_commands() -> list[tuple[str, str]]:
    """Return (page, command line) of every page's `bash` blocks, pages in reading order."""
    return [
        (page_id(page), line)
        for page in markdown_files(ROOT)
        for line in shell_commands(page.read_text())
    ]


@pytest.mark.long
def test_the_documentations_commands_work_as_written_on_a_fresh_clone(tmp_path):
    clone = fresh_clone(tmp_path / "jobdesk")
    env = clean_environment(PORT=str(free_port()))
    failures, ran = [], []
    for page, line in documented_commands():
        key = line.split("#")[0].strip()
        if key in RUN_ELSEWHERE:
            continue
        failure = run_documented(line, clone, env, tmp_path)
        ran.append(line)
        if failure:
            failures.append(f"{page}: {line}\n{failure}")

    assert failures == []
    assert any(SERVER.match(line) for line in ran)
    assert any("createsuperuser" in line for line in ran)


def run_documented(line: str, clone: Path, env: dict[str, str], tmp_path: Path) -> str | None:
    """Run one documented command line in the clone; return what went wrong, or None."""
    log = tmp_path / f"command-{len(list(tmp_path.glob('command-*')))}.log"
    if SERVER.match(line):
        process = start(["bash", "-c", line], cwd=clone, env=env, log=log)
        try:
            page = wait_for(f"http://127.0.0.1:{env['PORT']}/", process, log)
            assert b"jd_demo_acme_ops" in page
            wait_for_demo_task(clone)
        finally:
            interrupt(process, cwd=clone)
        return left_running(clone)
    if WORKER.match(line):
        process = start(["bash", "-c", line], cwd=clone, env=env, log=log)
        try:
            wait_for_output(log, "Starting worker", process)
        finally:
            interrupt(process, cwd=clone)
        return None
    return run_in_terminal(line, clone, env)


def run_in_terminal(line: str, clone: Path, env: dict[str, str]) -> str | None:
    """Run `line` with a terminal as its input and output, typing the password when asked.

    The command has no controlling terminal (a session of its own), so getpass prompts and
    reads on that terminal, its standard input.
    """
    controller, terminal = pty.openpty()
    process = subprocess.Popen(  # noqa: S603 - the documentation's own command line
        ["bash", "-c", line],  # noqa: S607
        cwd=clone,
        env=env,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        start_new_session=True,
    )
    os.close(terminal)
    output, deadline = b"", time.monotonic() + COMMAND_SECONDS
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 1)
            if not ready:
                continue
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the command ended and the terminal closed
                break
            if not chunk:
                break
            output += chunk
            if output.rstrip().endswith((b"Password:", b"(again):")):
                os.write(controller, f"{SUPERUSER_PASSWORD}\n".encode())
        status = process.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()
    text = output.decode(errors="replace")
    return None if status == 0 else f"exit {status}: {text[-2000:]}"


def demo_task_states(clone: Path) -> list[str]:
    with sqlite3.connect(clone / "db.sqlite3") as db:
        rows = db.execute(
            "SELECT workflow_state FROM progress_progress WHERE tag IN (?, ?, ?)", DEMO_TASK_TAGS
        )
        return [state for (state,) in rows]


def wait_for_demo_task(clone: Path) -> None:
    """Wait until the worker of `make run` has started a demo task."""
    deadline = time.monotonic() + 60
    while "queued" in demo_task_states(clone) and len(set(demo_task_states(clone))) == 1:
        if time.monotonic() > deadline:
            pytest.fail("make run's worker started no demo task within 60 s")
        time.sleep(0.1)


def left_running(clone: Path) -> str | None:
    """Return what is wrong if a stopped `make run` left a demo task's job running."""
    states = demo_task_states(clone)
    return f"demo task jobs left running: {states}" if "running" in states else None
