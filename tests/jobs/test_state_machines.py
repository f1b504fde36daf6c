"""Every family's state machine under concurrent writers, on PostgreSQL (property-based).

Hypothesis draws rounds of transitions (start, progress, complete, fail, cancel: the family's
own task events, `jobs.family.JobFamily`, through its services); each round's transitions are
released at once by threads holding connections of their own, on a job a worker started.
After each round: no
transition left a finished state, exactly one of the round's finishing transitions won on a
pending job and the others got the family's refusal, the job's timeline (JobEvent) records
exactly the finish that won, and the job's version moved on with every change.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from django.db import connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobs.family import JobFamily
from jobs.models import JobEvent
from tenancy import caching
from tests.jobs.drivers import FamilyDriver, drivers

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

FINISHES = {"complete": "succeeded", "fail": "failed", "cancel": "cancelled"}
"""The outcome each finishing transition leaves (`JobFamily.outcome`)."""
TIMELINE_FINISHES = {
    "complete": JobEvent.Kind.COMPLETED,
    "fail": JobEvent.Kind.FAILED,
    "cancel": JobEvent.Kind.CANCELLED,
}
MAX_WRITERS = 4

transitions = st.one_of(
    st.just(("start", None)),
    st.tuples(st.just("progress"), st.integers(min_value=0, max_value=100)),
    st.sampled_from([(finish, None) for finish in FINISHES]),
)
rounds = st.lists(st.lists(transitions, min_size=2, max_size=MAX_WRITERS), min_size=1, max_size=3)


@dataclass
class Seen:
    """A job as the test sees it between rounds."""

    state: str
    version: int | None
    finishes: list[str]

    @classmethod
    def of(cls, family: JobFamily, job_id: str) -> Seen:
        events = JobEvent.objects.across_tenants().filter(family=family.name, job_id=job_id)
        finishes = events.filter(kind__in=[*TIMELINE_FINISHES.values(), JobEvent.Kind.REAPED])
        return cls(
            family.state_of(family.load(job_id)),
            caching.current_version(family.snapshots.version_key(job_id)),
            list(finishes.values_list("kind", flat=True)),
        )


def apply(family: JobFamily, job_id: str, transition: tuple, start: threading.Barrier) -> bool:
    """Apply one transition once every writer of the round is ready; True if it applied."""
    name, value = transition
    start.wait()
    try:
        if name == "start":
            return family.start(job_id)
        if name == "progress":
            return family.report(job_id, completion=value, message=f"{value} done")
        if name == "complete":
            return family.complete(job_id, results=None)
        if name == "fail":
            return family.fail(job_id, message="It broke.")
        return family.cancel(family.load(job_id), actor=None)
    finally:
        connections.close_all()  # this thread's connection


def run_round(pool, family: JobFamily, job_id: str, writes: list[tuple]) -> list[bool]:
    start = threading.Barrier(len(writes))
    futures = [pool.submit(apply, family, job_id, write, start) for write in writes]
    return [future.result(timeout=60) for future in futures]


def outcome_of(driver: FamilyDriver, finish: str) -> str:
    """The outcome a finishing transition leaves (a cancel leaves Canvas and Traffic Ops jobs
    failed)."""
    if finish == "cancel":
        return driver.family.outcome(driver.cancelled)
    return FINISHES[finish]


def check_round(driver: FamilyDriver, before: Seen, after: Seen, writes, applied) -> None:
    family = driver.family
    finishes = [name for (name, _), won in zip(writes, applied, strict=True) if won]
    finishes = [name for name in finishes if name in FINISHES]
    if before.state not in family.pending_states:
        assert not any(applied), "a transition left a finished state"
        assert after == before
        return
    tried = [name for name, _ in writes if name in FINISHES]
    assert len(finishes) == (1 if tried else 0), (writes, applied)
    if finishes:
        assert family.outcome(after.state) == outcome_of(driver, finishes[0])
        assert after.finishes == [TIMELINE_FINISHES[finishes[0]]]
        assert after.version > before.version
    else:
        assert after.state in family.pending_states
        assert after.finishes == []
    if not any(applied):
        assert after.version == before.version


@pytest.mark.parametrize("driver", drivers(), ids=lambda driver: driver.name)
@settings(
    max_examples=5,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rounds=rounds)
def test_concurrent_transitions_leave_one_winner_a_true_timeline_and_a_moving_version(
    driver: FamilyDriver, tenant, rounds
):
    family = driver.family
    job_id = str(driver.make(tenant).pk)
    family.start(job_id)  # running: every finishing transition is allowed, until one wins
    with ThreadPoolExecutor(max_workers=MAX_WRITERS) as pool:
        for writes in rounds:
            before = Seen.of(family, job_id)
            applied = run_round(pool, family, job_id, writes)
            check_round(driver, before, Seen.of(family, job_id), writes, applied)
