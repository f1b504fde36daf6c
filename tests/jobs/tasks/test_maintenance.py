"""The scheduler (`manage.py run_maintenance`) runs the reaper and the purge, and stops cleanly."""

import os
import signal
import threading
from io import StringIO

import pytest
from django.core.management import call_command

from jobs.management.commands.run_maintenance import Schedule

DEADLINE_SECONDS = 60


def test_each_command_runs_at_start_then_every_its_own_interval():
    ran = []
    schedule = Schedule({"reap": 60, "purge": 3600}, ran.append)

    next_due = schedule.run_due(1000.0)
    schedule.run_due(1059.0)
    schedule.run_due(1060.0)
    schedule.run_due(4599.0)
    schedule.run_due(4600.0)

    assert next_due == 1060.0
    assert ran == ["reap", "purge", "reap", "reap", "purge"]


def test_a_failing_command_does_not_stop_the_others_or_the_schedule(caplog):
    ran = []

    def run(command: str) -> None:
        ran.append(command)
        if command == "reap":
            raise ConnectionError("database down")

    schedule = Schedule({"reap": 60, "purge": 60}, run)
    schedule.run_due(0.0)
    schedule.run_due(60.0)

    assert ran == ["reap", "purge", "reap", "purge"]
    assert "reap failed" in caplog.text


class StopAfter(StringIO):
    """Output that sends this process `signum` once `text` was written `count` times."""

    def __init__(self, text: str, count: int, signum: int) -> None:
        super().__init__()
        self.text, self.count, self.signum = text, count, signum

    def write(self, value: str) -> int:
        written = super().write(value)
        if value.count(self.text) and self.getvalue().count(self.text) == self.count:
            os.kill(os.getpid(), self.signum)
        return written


@pytest.fixture
def _signal_handlers_restored():
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


@pytest.mark.django_db
@pytest.mark.usefixtures("_signal_handlers_restored")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_the_scheduler_runs_the_reaper_until_a_signal_stops_it(signum, monkeypatch):
    # Between runs the scheduler recycles connections; here that would end the test's
    # transaction (it runs in this process, on the test's connection).
    monkeypatch.setattr(
        "jobs.management.commands.run_maintenance.close_old_connections", lambda: None
    )
    output = StopAfter("expired idempotency keys.", count=2, signum=signum)
    # Should the output never come, stop the scheduler anyway: the assertions then fail.
    failsafe = threading.Timer(DEADLINE_SECONDS, os.kill, (os.getpid(), signal.SIGTERM))
    failsafe.start()
    try:
        call_command(
            "run_maintenance", "--reap-every", "0.01", "--purge-every", "0.02", stdout=output
        )
    finally:
        failsafe.cancel()

    text = output.getvalue()
    assert text.count("Deleted 0 progress jobs") == 2
    assert text.rstrip().endswith("Scheduler stopped.")
