"""Concurrency on PostgreSQL: cancels racing completions leave exactly one winner per job."""

import random
import threading
from collections import Counter

import pytest

from jobs.transitions import TransitionRefused
from progress import services
from progress.models import Progress
from tests.factories import UserFactory
from tests.helpers import errors_of, run_together
from tests.progress.factories import make_progress

State = Progress.State
JOBS = 40
COMPLETERS = 3
CANCELLERS = 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_cancel_racing_complete_leaves_one_terminal_state_and_never_rewrites_a_result(tenant):
    job_ids = [make_progress(tenant, State.RUNNING, completion=10).pk for _ in range(JOBS)]
    actor = UserFactory()
    wins: Counter = Counter()
    lock = threading.Lock()

    def fresh(pk: int) -> Progress:
        return Progress.objects.across_tenants().get(pk=pk)

    def record(pk: int, who: str) -> None:
        with lock:
            wins[pk, who] += 1

    def completer(seed: int):
        def work():
            for pk in random.Random(seed).sample(job_ids, len(job_ids)):
                try:
                    services.progress_complete(fresh(pk), results={"by": seed}, message="done")
                except TransitionRefused:
                    continue
                record(pk, "complete")

        return work

    def canceller(seed: int):
        def work():
            for pk in random.Random(seed).sample(job_ids, len(job_ids)):
                if services.progress_cancel(fresh(pk), actor=actor, message="user cancelled"):
                    record(pk, "cancel")

        return work

    workers = [completer(seed) for seed in range(COMPLETERS)]
    workers += [canceller(100 + seed) for seed in range(CANCELLERS)]
    assert errors_of(run_together(*workers)) == []

    for pk in job_ids:
        row = fresh(pk)
        winners = [who for (job, who), count in wins.items() if job == pk for _ in range(count)]
        assert len(winners) == 1, f"job {pk} had winners {winners}"
        if winners == ["complete"]:
            assert row.workflow_state == State.COMPLETED
            assert (row.completion, row.message) == (100.0, "done")
            assert row.results in [{"by": seed} for seed in range(COMPLETERS)]
        else:
            assert row.workflow_state == State.FAILED
            assert (row.completion, row.message, row.results) == (10.0, "user cancelled", None)
