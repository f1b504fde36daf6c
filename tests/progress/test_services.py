import math

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from jobs.transitions import TransitionRefused
from progress import services
from progress.models import Progress
from progress.services import InvalidCompletion
from tests.factories import UserFactory
from tests.progress.factories import make_progress

pytestmark = pytest.mark.django_db

State = Progress.State
ALL_STATES = list(State.values)

# Canvas' state machine (app/models/progress.rb): event -> states it is allowed from.
ALLOWED_FROM = {
    "start": {State.QUEUED},
    "wait_for_external_tool": {State.RUNNING},
    "complete": {State.RUNNING, State.WAITING_FOR_EXTERNAL_TOOL},
    "fail": {State.QUEUED, State.RUNNING, State.WAITING_FOR_EXTERNAL_TOOL},
    "supersede": {State.QUEUED},
}
EVENTS = {
    "start": services.progress_start,
    "wait_for_external_tool": services.progress_wait_for_external_tool,
    "complete": services.progress_complete,
    "fail": services.progress_fail,
    "supersede": services.progress_supersede,
}
TARGET = {
    "start": State.RUNNING,
    "wait_for_external_tool": State.WAITING_FOR_EXTERNAL_TOOL,
    "complete": State.COMPLETED,
    "fail": State.FAILED,
    "supersede": State.CANCELED,
}


def stored(progress: Progress) -> Progress:
    return Progress.objects.across_tenants().get(pk=progress.pk)


def test_a_new_progress_is_queued_with_null_completion_results_and_message(tenant):
    user = UserFactory()
    progress = services.progress_create(
        tenant=tenant, tag="gradebook_to_csv", context_type="Course", context_id=7, user=user
    )

    row = stored(progress)
    assert (row.workflow_state, row.completion, row.results, row.message) == (
        State.QUEUED,
        None,
        None,
        None,
    )
    assert (row.tenant_id, row.user_id, row.context_id) == (tenant.pk, user.pk, 7)


def test_create_refuses_a_job_without_a_tag(tenant):
    with pytest.raises(ValidationError):
        services.progress_create(tenant=tenant, tag="", context_type="Course", context_id=1)

    assert not Progress.objects.across_tenants().exists()


@pytest.mark.parametrize("event", list(EVENTS))
@pytest.mark.parametrize("state", ALL_STATES)
def test_each_event_follows_canvas_state_machine(tenant, event, state):
    progress = make_progress(tenant, state)
    before = stored(progress)

    if state in ALLOWED_FROM[event]:
        EVENTS[event](progress)
        assert stored(progress).workflow_state == TARGET[event]
        assert progress.workflow_state == TARGET[event]
    else:
        with pytest.raises(TransitionRefused) as caught:
            EVENTS[event](progress)
        assert caught.value.state == state
        assert caught.value.event == event
        assert stored(progress).updated_at == before.updated_at
        assert stored(progress).workflow_state == state


def test_complete_sets_completion_100_results_and_message(tenant):
    progress = make_progress(tenant, State.RUNNING, completion=40)

    services.progress_complete(progress, results={"id": 123}, message="3 courses processed")

    row = stored(progress)
    assert row.completion == 100.0
    assert row.results == {"id": 123}
    assert row.message == "3 courses processed"


def test_fail_keeps_the_message_unless_a_new_one_is_given(tenant):
    kept = make_progress(tenant, State.RUNNING, message="half way")
    replaced = make_progress(tenant, State.RUNNING, message="half way")

    services.progress_fail(kept)
    services.progress_fail(replaced, message="Unexpected error, ID: unknown", results=[1])

    assert stored(kept).message == "half way"
    assert (stored(replaced).message, stored(replaced).results) == (
        "Unexpected error, ID: unknown",
        [1],
    )


def test_update_records_completion_and_message_and_bumps_updated_at(tenant):
    progress = make_progress(tenant, State.RUNNING)
    before = stored(progress).updated_at

    services.progress_update(progress, completion=55, message="hello")

    row = stored(progress)
    assert (row.completion, row.message) == (55.0, "hello")
    assert row.updated_at > before
    assert progress.completion == 55.0


def test_a_lower_completion_is_ignored_and_never_moves_a_job_backwards(tenant):
    progress = make_progress(tenant, State.RUNNING, completion=60)

    services.progress_update(progress, completion=20, message="late report")

    assert (stored(progress).completion, stored(progress).message) == (60.0, "late report")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, -0.1, 100.01, "50", [50], True])
def test_update_refuses_completion_that_is_not_a_finite_percent(tenant, value):
    progress = make_progress(tenant, State.RUNNING, completion=10)

    with pytest.raises(InvalidCompletion):
        services.progress_update(progress, completion=value)

    assert stored(progress).completion == 10.0


@pytest.mark.parametrize("state", Progress.FINISHED_STATES)
def test_update_of_a_finished_job_is_refused_and_changes_nothing(tenant, state):
    progress = make_progress(tenant, state)
    before = Progress.objects.across_tenants().filter(pk=progress.pk).values().get()

    with pytest.raises(TransitionRefused):
        services.progress_update(progress, completion=100, message="rewritten")

    assert Progress.objects.across_tenants().filter(pk=progress.pk).values().get() == before


@pytest.mark.parametrize(
    ("current", "total", "expected"),
    [(2, 50, 4.0), (1, 3, 100.0 / 3), (5, 5, 100.0), (0, 0, 100.0), (0, 7, 0.0)],
)
def test_calculate_completion_is_a_percent_and_guards_an_empty_total(
    tenant, current, total, expected
):
    progress = make_progress(tenant, State.RUNNING)

    services.progress_calculate_completion(progress, current=current, total=total)

    assert stored(progress).completion == pytest.approx(expected)


@pytest.mark.parametrize(("current", "total"), [(1, 0), (6, 5), (-1, 5), (0, -1)])
def test_calculate_completion_refuses_impossible_counts(tenant, current, total):
    progress = make_progress(tenant, State.RUNNING)

    with pytest.raises(InvalidCompletion):
        services.progress_calculate_completion(progress, current=current, total=total)

    assert stored(progress).completion is None


@pytest.mark.parametrize("state", Progress.PENDING_STATES)
def test_cancel_of_a_pending_job_fails_it_with_the_message(tenant, state):
    progress = make_progress(tenant, state, message="working")
    actor = UserFactory()

    cancelled = services.progress_cancel(progress, actor=actor, message="user cancelled")

    assert cancelled is True
    assert progress.workflow_state == State.FAILED
    assert (stored(progress).workflow_state, stored(progress).message) == (
        State.FAILED,
        "user cancelled",
    )


def test_cancel_without_message_clears_the_message_as_canvas_does(tenant):
    progress = make_progress(tenant, State.RUNNING, message="working")

    services.progress_cancel(progress, actor=UserFactory())

    assert stored(progress).message is None


@pytest.mark.parametrize("state", Progress.FINISHED_STATES)
def test_cancel_of_a_finished_job_returns_false_and_rewrites_nothing(tenant, state):
    progress = make_progress(tenant, state, results={"id": 1})
    before = Progress.objects.across_tenants().filter(pk=progress.pk).values().get()

    cancelled = services.progress_cancel(progress, actor=UserFactory(), message="too late")

    assert cancelled is False
    assert progress.workflow_state == state
    assert Progress.objects.across_tenants().filter(pk=progress.pk).values().get() == before


def test_a_stale_instance_cannot_overwrite_a_finished_job(tenant):
    progress = make_progress(tenant, State.RUNNING)
    stale = stored(progress)
    services.progress_complete(progress, results={"id": 9})

    assert services.progress_cancel(stale, actor=UserFactory()) is False
    assert stale.workflow_state == State.COMPLETED
    assert stored(progress).results == {"id": 9}


@pytest.mark.parametrize("completion", [-1.0, 100.5])
def test_database_refuses_completion_outside_0_to_100(tenant, completion):
    progress = make_progress(tenant)

    with pytest.raises(IntegrityError), transaction.atomic():
        Progress.objects.across_tenants().filter(pk=progress.pk).update(completion=completion)


def test_default_manager_fails_closed(tenant):
    make_progress(tenant)

    assert not Progress.objects.all().exists()
    assert not Progress.objects.pending().exists()
    assert Progress.objects.for_tenant(tenant).pending().count() == 1
    assert Progress.objects.for_tenant(tenant).finished().count() == 0
