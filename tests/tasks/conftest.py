"""Fixtures of the tracked-task tests: a trail file, and running the database worker."""

import pytest
from django.core.management import call_command


@pytest.fixture(autouse=True)
def _every_report_written(settings):
    """Write every report (no time throttle), so tests see each one."""
    settings.JOBDESK_TRACKED_REPORT_INTERVAL = 0


@pytest.fixture
def trail(tmp_path) -> str:
    return str(tmp_path / "trail.txt")


@pytest.fixture
def run_worker():
    """Return a function running the database worker until the queue is empty."""

    def run() -> None:
        call_command(
            "db_worker",
            "--batch",
            "--interval",
            "0",
            "--no-startup-delay",
            "--no-reload",
            verbosity=0,
        )

    return run
