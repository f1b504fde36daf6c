"""The write services of operations, and the tracked-task events mapped onto them."""

import pytest

from jobs.registry import families
from jobs.transitions import TransitionRefused
from lro import services
from lro.family import INTERNAL
from lro.models import Operation
from lro.services import InvalidPayload
from tests.helpers import errors_of, run_together
from tests.lro.helpers import nested, reloaded

pytestmark = pytest.mark.django_db

State = Operation.State


def test_a_created_operation_is_named_after_its_project_and_id(tenant):
    op = services.operation_create(tenant=tenant, metadata={"target": "x"})

    assert op.name == f"projects/{tenant.project_id}/operations/{op.pk}"
    assert op.state == State.RUNNING
    assert reloaded(op).metadata == {"target": "x"}


def test_an_update_replaces_the_metadata_and_records_a_heartbeat(op):
    services.operation_update(op, metadata={"progressPercent": 10})

    assert reloaded(op).metadata == {"progressPercent": 10}
    assert reloaded(op).heartbeat_at is not None


def test_finish_stores_the_response_and_the_end_time(op):
    services.operation_finish(op)

    done = reloaded(op)
    assert (done.state, done.response) == (State.SUCCEEDED, {})
    assert done.ended_at is not None


def test_fail_stores_the_status(op):
    services.operation_fail(op, code=9, message="Not ready.")

    assert (reloaded(op).error_code, reloaded(op).error_message) == (9, "Not ready.")


def test_cancel_says_whether_it_cancelled(tenant, make_op):
    running, done = make_op(tenant), make_op(tenant, State.SUCCEEDED)

    assert services.operation_cancel(running) is True
    assert services.operation_cancel(done) is False
    assert reloaded(running).error_code == 1
    assert reloaded(done).state == State.SUCCEEDED


@pytest.mark.parametrize(
    "write",
    [
        lambda op: services.operation_update(op, metadata={}),
        lambda op: services.operation_finish(op),
        lambda op: services.operation_fail(op, code=2, message="x"),
        services.operation_heartbeat,
    ],
)
def test_a_done_operation_is_never_rewritten(tenant, make_op, write):
    op = make_op(tenant, State.CANCELLED)

    with pytest.raises(TransitionRefused) as refused:
        write(op)

    assert refused.value.state == State.CANCELLED
    assert reloaded(op).state == State.CANCELLED


@pytest.mark.parametrize(
    ("call", "text"),
    [
        (lambda t: services.operation_create(tenant=t, metadata=[1]), "JSON object"),
        (lambda t: services.operation_create(tenant=t, metadata={"endTime": 1}), "endTime"),
        (lambda t: services.operation_create(tenant=t, metadata={"x": float("nan")}), "JSON"),
        (lambda t: services.operation_create(tenant=t, metadata={"x": object()}), "JSON"),
        (lambda t: services.operation_create(tenant=t, metadata={"x": nested(40)}), "deeper"),
    ],
)
def test_payloads_an_operation_cannot_carry_are_refused(tenant, call, text):
    with pytest.raises(InvalidPayload, match=text):
        call(tenant)

    assert not Operation.objects.for_tenant(tenant).exists()


@pytest.mark.parametrize("code", [0, 17, True, "13", None, 1.0])
def test_an_error_code_must_be_a_google_rpc_code_other_than_ok(op, code):
    with pytest.raises(InvalidPayload):
        services.operation_fail(op, code=code, message="x")

    assert reloaded(op).state == State.RUNNING


def test_delete_removes_the_row_whatever_its_state_and_says_if_it_did(op):
    assert services.operation_delete(op) is True
    assert services.operation_delete(op) is False
    assert not Operation.objects.across_tenants().filter(pk=op.pk).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_cancel_racing_a_finish_leaves_exactly_one_winner(tenant):
    op = services.operation_create(tenant=tenant)

    results = run_together(
        lambda: services.operation_cancel(reloaded(op)),
        lambda: services.operation_finish(reloaded(op), response={"rows": 1}),
    )

    state = reloaded(op).state
    cancelled, finish = results
    if state == State.CANCELLED:
        assert cancelled is True
        assert isinstance(finish, TransitionRefused)
    else:
        assert state == State.SUCCEEDED
        assert cancelled is False
        assert errors_of(results) == []


# Tracked tasks --------------------------------------------------------------------------------

FAMILY = families["lro"]


def test_a_tracked_report_writes_progress_and_message_into_the_metadata(op):
    assert FAMILY.report(str(op.pk), completion=25.0, message="A quarter.") is True

    assert reloaded(op).metadata == {
        "step": "started",
        "progressPercent": 25.0,
        "statusMessage": "A quarter.",
    }


def test_a_tracked_report_without_news_is_a_heartbeat(op):
    assert FAMILY.report(str(op.pk), completion=None, message=None) is True

    assert reloaded(op).heartbeat_at is not None
    assert reloaded(op).metadata == {"step": "started"}


@pytest.mark.parametrize(
    ("results", "response"),
    [
        ({"rows": 2}, {"rows": 2}),
        (None, {}),
        ([1, 2], {"result": [1, 2]}),
        ("ok", {"result": "ok"}),
    ],
)
def test_a_tracked_tasks_return_value_is_the_response(op, results, response):
    assert FAMILY.complete(str(op.pk), results=results) is True

    assert reloaded(op).response == response


def test_a_tracked_task_that_raised_fails_with_internal(op):
    assert FAMILY.fail(str(op.pk), message="Unexpected error, ID: abc") is True

    assert (reloaded(op).error_code, reloaded(op).error_message) == (
        INTERNAL,
        "Unexpected error, ID: abc",
    )


def test_tracked_events_on_a_deleted_operation_say_it_is_no_longer_pending(op):
    services.operation_delete(op)
    job_id = str(op.pk)

    assert FAMILY.start(job_id) is False
    assert FAMILY.report(job_id, completion=1.0, message=None) is False
    assert FAMILY.complete(job_id, results={}) is False
    assert FAMILY.fail(job_id, message="x") is False


def test_a_tracked_task_creates_the_operation_with_its_metadata(tenant):
    job_id = FAMILY.create(tenant=tenant, tag="import", user=None, metadata={"target": "t"})

    assert Operation.objects.for_tenant(tenant).get(pk=int(job_id)).metadata == {"target": "t"}
