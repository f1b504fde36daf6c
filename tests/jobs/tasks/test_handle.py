"""The job handle throttles writes: once per whole percent, or after the interval."""

import pytest

from jobs import tasks


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Recorder:
    """A family that records the reports reaching it; `pending` False means cancelled."""

    def __init__(self) -> None:
        self.writes: list[tuple] = []
        self.pending = True

    def report(self, job_id, *, completion, message) -> bool:
        self.writes.append((completion, message))
        return self.pending


@pytest.fixture
def family(monkeypatch) -> Recorder:
    recorder = Recorder()
    monkeypatch.setattr(tasks, "families", {"progress": recorder})
    return recorder


@pytest.fixture
def handle(settings, family) -> tasks.JobHandle:
    settings.JOBDESK_TRACKED_REPORT_INTERVAL = 5
    return tasks.JobHandle("progress", "1", clock=Clock())


def test_reports_within_one_whole_percent_are_written_once(handle, family):
    for step in range(100):
        handle.report(completion=step / 100)

    assert family.writes == [(0.0, None)]
    assert (handle.reports, handle.writes) == (100, 1)


def test_each_new_whole_percent_is_written(handle, family):
    for step in range(1000):
        handle.report(completion=step / 10)

    assert len(family.writes) == 100


def test_a_report_after_the_interval_is_written_even_without_a_new_percent(handle, family):
    handle.report(completion=1, message="a")
    handle.report(completion=1, message="b")
    handle.clock.now = 5.0
    handle.report(completion=1, message="c")

    assert family.writes == [(1, "a"), (1, "c")]


def test_a_written_report_on_a_cancelled_job_raises_job_cancelled(handle, family):
    family.pending = False

    with pytest.raises(tasks.JobCancelled):
        handle.report(completion=3)
