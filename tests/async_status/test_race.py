"""On PostgreSQL, concurrent transitions of one job leave exactly one winner."""

import pytest

from async_status.models import AsyncStatus
from async_status.services import (
    async_status_cancel,
    async_status_finish,
)
from jobs.transitions import TransitionRefused
from tests.async_status.factories import make_async_status
from tests.factories import UserFactory
from tests.helpers import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 20


def outcomes_of(*calls) -> list[str]:
    """Run `calls` together; return "won" or "lost" for each.

    A call loses by raising TransitionRefused, or (a cancel) by returning False.
    """
    results = run_together(*calls)
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, TransitionRefused):
            raise result
    return ["lost" if result is False or isinstance(result, TransitionRefused) else "won"
            for result in results]  # fmt: skip


def test_concurrent_finish_and_cancel_leave_exactly_one_terminal_state(tenant):
    actor = UserFactory(username="alice")
    for _ in range(ROUNDS):
        job = make_async_status(tenant)
        finisher = AsyncStatus.objects.across_tenants().get(pk=job.pk)
        canceller = AsyncStatus.objects.across_tenants().get(pk=job.pk)

        outcomes = outcomes_of(
            lambda j=finisher: async_status_finish(j, succeeded=True, message="Done."),
            lambda j=canceller: async_status_cancel(j, actor=actor),
        )

        assert sorted(outcomes) == ["lost", "won"]
        row = AsyncStatus.objects.across_tenants().get(pk=job.pk)
        assert row.end_time is not None
        if outcomes[0] == "won":
            assert (row.status, row.message) == ("SUCCEEDED", "Done.")
        else:
            assert row.status == "FAILED"
            assert row.message.startswith("Cancelled by alice at ")


def test_many_concurrent_finishers_have_one_winner(tenant):
    job = make_async_status(tenant)
    copies = [AsyncStatus.objects.across_tenants().get(pk=job.pk) for _ in range(6)]

    outcomes = outcomes_of(
        *(
            lambda j=copy, n=n: async_status_finish(j, succeeded=n % 2 == 0, message=f"by {n}")
            for n, copy in enumerate(copies)
        )
    )

    assert outcomes.count("won") == 1
    winner = outcomes.index("won")
    row = AsyncStatus.objects.across_tenants().get(pk=job.pk)
    assert row.message == f"by {winner}"
    assert row.status == ("SUCCEEDED" if winner % 2 == 0 else "FAILED")
