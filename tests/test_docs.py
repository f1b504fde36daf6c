"""The documentation holds: its links resolve, the README stays short, its curl commands work.

The curl commands shown in README.md and docs/api/*.md run, with the real `curl`, against a
live server holding the demo data; docs/development/testing.md says which blocks are run and
how a `<placeholder>` takes the value `manage.py demo` printed.
"""

import re
import subprocess
from io import StringIO
from pathlib import Path
from urllib.parse import unquote

import pytest
from django.core.management import call_command

from asset_jobs.tasks import DEMO_HANDLERS
from tests.helpers import reseed_roles
from tests.markdown import anchors, curl_commands, markdown_files, relative_links

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
def seeded_roles(transactional_db) -> None:
    """Seed the default roles again: a transactional test ends by flushing the database."""
    reseed_roles()


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
