"""Canvas producer routes: create with `Idempotency-Key`, report, finish, 409s, scoping."""

import json
from http import HTTPStatus

import pytest
from rest_framework.test import APIClient

from progress.models import Progress
from progress.services import progress_cancel
from tenancy.models import IdempotencyKey
from tests.helpers import run_together
from tests.progress.factories import make_progress

CREATE = {"tag": "course_batch_update", "context_type": "Course", "context_id": 7}


@pytest.fixture
def writer(bearer, tenant) -> dict:
    """Headers of an admin member of `tenant` (holds PROGRESS:WRITE)."""
    return bearer(tenant, "admin")


def post(api_client, headers, body, **extra):
    return api_client.post(
        "/api/v1/progress", json.dumps(body), content_type="application/json", **headers, **extra
    )


def put(api_client, headers, job_id, body):
    return api_client.put(
        f"/api/v1/progress/{job_id}", json.dumps(body), content_type="application/json", **headers
    )


def jobs_of(tenant):
    return Progress.objects.for_tenant(tenant)


def test_create_records_a_queued_job_in_the_tokens_tenant(api_client, writer, tenant):
    response = post(api_client, writer, {**CREATE, "course_id": 3, "message": "Queued"})

    assert response.status_code == HTTPStatus.CREATED
    body = response.json()
    assert body["workflow_state"] == "queued"
    assert body["completion"] is None
    assert body["message"] == "Queued"
    assert body["url"] == f"http://testserver/api/v1/progress/{body['id']}"
    job = jobs_of(tenant).get()
    assert (job.pk, job.tag, job.context_id, job.course_id) == (body["id"], CREATE["tag"], 7, 3)


def test_a_retried_create_with_the_same_key_returns_the_same_job(api_client, writer, tenant):
    first = post(api_client, writer, CREATE, HTTP_IDEMPOTENCY_KEY="k-1")
    again = post(api_client, writer, CREATE, HTTP_IDEMPOTENCY_KEY="k-1")

    assert again.status_code == first.status_code == HTTPStatus.CREATED
    assert again.json() == first.json()
    assert jobs_of(tenant).count() == 1


def test_creates_without_a_key_or_with_different_keys_make_different_jobs(
    api_client, writer, tenant
):
    post(api_client, writer, CREATE)
    post(api_client, writer, CREATE)
    post(api_client, writer, CREATE, HTTP_IDEMPOTENCY_KEY="a")
    post(api_client, writer, CREATE, HTTP_IDEMPOTENCY_KEY="b")

    assert jobs_of(tenant).count() == 4


def test_a_key_reused_with_a_different_body_is_422_and_creates_nothing(api_client, writer, tenant):
    post(api_client, writer, CREATE, HTTP_IDEMPOTENCY_KEY="k-1")
    response = post(api_client, writer, {**CREATE, "context_id": 8}, HTTP_IDEMPOTENCY_KEY="k-1")

    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "Idempotency-Key" in response.json()["errors"][0]["message"]
    assert jobs_of(tenant).count() == 1


def test_the_same_key_in_another_tenant_makes_its_own_job(
    api_client, writer, bearer, tenant, other_tenant
):
    post(api_client, writer, CREATE, HTTP_IDEMPOTENCY_KEY="k-1")
    post(api_client, bearer(other_tenant, "admin"), CREATE, HTTP_IDEMPOTENCY_KEY="k-1")

    assert jobs_of(tenant).count() == jobs_of(other_tenant).count() == 1


def test_an_expired_key_may_be_used_again(api_client, writer, tenant, settings):
    post(api_client, writer, CREATE, HTTP_IDEMPOTENCY_KEY="k-1")
    settings.JOBDESK_IDEMPOTENCY_KEY_TTL = -1

    response = post(api_client, writer, {**CREATE, "context_id": 9}, HTTP_IDEMPOTENCY_KEY="k-1")

    assert response.status_code == HTTPStatus.CREATED
    assert jobs_of(tenant).count() == 2
    assert IdempotencyKey.objects.get().job_id == str(response.json()["id"])


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "tab\there"])
def test_a_malformed_key_is_400_and_creates_nothing(api_client, writer, tenant, key):
    response = post(api_client, writer, CREATE, HTTP_IDEMPOTENCY_KEY=key)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "Idempotency-Key" in response.json()["errors"][0]["message"]
    assert not jobs_of(tenant).exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {**CREATE, "tag": ""},
        {**CREATE, "context_id": "seven"},
        {**CREATE, "context_id": -1},
        {**CREATE, "context_id": 2**63},
        {**CREATE, "course_id": 1.5},
        {**CREATE, "message": ["a"]},
        {**CREATE, "tag": "x" * 256},
        {**CREATE, "tag": "nul\x00"},
        ["not", "an", "object"],
    ],
)
def test_bad_create_bodies_are_400_in_canvas_envelope(api_client, writer, tenant, body):
    response = post(api_client, writer, body)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["errors"][0]["message"]
    assert not jobs_of(tenant).exists()


def test_malformed_json_is_400_in_canvas_envelope(api_client, writer, tenant):
    response = api_client.post(
        "/api/v1/progress", "{nope", content_type="application/json", **writer
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "errors" in response.json()


@pytest.mark.parametrize(
    ("role", "status"),
    [("read-only", HTTPStatus.FORBIDDEN), ("operations", HTTPStatus.FORBIDDEN)],
)
def test_create_needs_progress_write(api_client, bearer, tenant, role, status):
    response = post(api_client, bearer(tenant, role), CREATE)

    assert response.status_code == status
    assert response.json()["errors"][0]["message"] == "user not authorized to perform that action"
    assert not jobs_of(tenant).exists()


def test_create_without_credentials_is_401(api_client, tenant):
    response = post(api_client, {}, CREATE)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["status"] == "unauthenticated"


def test_a_write_scoped_token_of_a_read_role_may_not_create(api_client, bearer, tenant):
    headers = bearer(tenant, "read-only", scopes=["PROGRESS:WRITE"])

    assert post(api_client, headers, CREATE).status_code == HTTPStatus.FORBIDDEN


def test_a_session_writing_in_two_tenants_must_use_a_token(
    api_client, make_member, tenant, other_tenant
):
    from tenancy.services import membership_grant

    user = make_member(tenant, "admin")
    membership_grant(user=user, tenant=other_tenant, role_name="admin")
    api_client.force_login(user)

    response = post(api_client, {}, CREATE)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "API token" in response.json()["errors"][0]["message"]


def test_a_session_writing_in_one_tenant_creates_there(api_client, make_member, tenant):
    api_client.force_login(make_member(tenant, "admin"))

    assert post(api_client, {}, CREATE).status_code == HTTPStatus.CREATED
    assert jobs_of(tenant).count() == 1


def test_report_moves_a_queued_job_to_running_with_completion_and_message(
    api_client, writer, tenant
):
    job = make_progress(tenant, "queued")

    response = put(
        api_client, writer, job.pk, {"workflow_state": "running", "completion": 10, "message": "a"}
    )

    assert response.status_code == HTTPStatus.OK
    job.refresh_from_db()
    assert (job.workflow_state, job.completion, job.message) == ("running", 10.0, "a")
    assert response.json()["workflow_state"] == "running"


def test_report_completes_a_running_job_with_its_results(api_client, writer, tenant):
    job = make_progress(tenant, "running")

    response = put(api_client, writer, job.pk, {"workflow_state": "completed", "results": {"n": 3}})

    assert response.status_code == HTTPStatus.OK
    assert response.json()["results"] == {"n": 3}
    assert response.json()["completion"] == 100.0
    job.refresh_from_db()
    assert job.workflow_state == "completed"


def test_report_fails_a_job_with_a_message(api_client, writer, tenant):
    job = make_progress(tenant, "running")

    response = put(api_client, writer, job.pk, {"workflow_state": "failed", "message": "boom"})

    assert response.status_code == HTTPStatus.OK
    job.refresh_from_db()
    assert (job.workflow_state, job.message) == ("failed", "boom")


def test_report_may_wait_for_an_external_tool(api_client, writer, tenant):
    job = make_progress(tenant, "running")

    response = put(api_client, writer, job.pk, {"workflow_state": "waiting_for_external_tool"})

    assert response.json()["workflow_state"] == "waiting_for_external_tool"


def test_completion_never_goes_backwards(api_client, writer, tenant):
    job = make_progress(tenant, "running", completion=60.0)

    put(api_client, writer, job.pk, {"completion": 20})

    job.refresh_from_db()
    assert job.completion == 60.0


def test_completing_a_cancelled_job_is_409_naming_its_state_and_changes_nothing(
    api_client, writer, tenant, snapshot, make_member
):
    job = make_progress(tenant, "running")
    progress_cancel(job, actor=make_member(tenant), message="stop")
    before = snapshot(job)

    response = put(api_client, writer, job.pk, {"workflow_state": "completed", "results": [1]})

    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json() == {
        "errors": [{"message": f"Cannot complete progress {job.pk}: it is failed."}]
    }
    assert snapshot(job) == before


@pytest.mark.parametrize(
    "body", [{"completion": 50}, {"message": "late"}, {"workflow_state": "running"}]
)
def test_reports_on_a_finished_job_are_409(api_client, writer, tenant, snapshot, body):
    job = make_progress(tenant, "completed")
    before = snapshot(job)

    response = put(api_client, writer, job.pk, body)

    assert response.status_code == HTTPStatus.CONFLICT
    assert "it is completed" in response.json()["errors"][0]["message"]
    assert snapshot(job) == before


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"workflow_state": "canceled"},
        {"workflow_state": "queued"},
        {"completion": 101},
        {"completion": -1},
        {"completion": "NaN"},
        {"completion": "lots"},
        {"message": 5},
        {"results": {"x": 1}},
        {"workflow_state": "running", "results": 1},
    ],
)
def test_bad_reports_are_400_and_change_nothing(api_client, writer, tenant, snapshot, body):
    job = make_progress(tenant, "running", completion=5.0)
    before = snapshot(job)

    response = put(api_client, writer, job.pk, body)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["errors"][0]["message"]
    assert snapshot(job) == before


@pytest.mark.parametrize("raw_id", ["abc", "1.5", "-1", "0", "9" * 30])
def test_reports_on_junk_ids_are_404(api_client, writer, raw_id):
    response = put(api_client, writer, raw_id, {"message": "x"})

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == {"errors": [{"message": "The specified resource does not exist."}]}


def test_report_on_another_tenants_job_is_404_and_leaves_it_unchanged(
    api_client, writer, other_tenant, snapshot
):
    other = make_progress(other_tenant, "running")
    before = snapshot(other)

    response = put(api_client, writer, other.pk, {"workflow_state": "completed"})

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert snapshot(other) == before


@pytest.mark.parametrize("role", ["read-only", "operations"])
def test_report_needs_progress_write(api_client, bearer, tenant, snapshot, role):
    job = make_progress(tenant, "running")
    before = snapshot(job)

    response = put(api_client, bearer(tenant, role), job.pk, {"workflow_state": "completed"})

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert snapshot(job) == before


def test_reads_still_need_only_progress_read(api_client, bearer, tenant):
    job = make_progress(tenant, "running")
    reader = bearer(tenant, "read-only")

    assert api_client.get(f"/api/v1/progress/{job.pk}", **reader).status_code == HTTPStatus.OK
    assert api_client.get("/api/v1/progress", **reader).status_code == HTTPStatus.OK


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_key_make_exactly_one_job(bearer, tenant):
    # A role of its own: transactional tests flush the seeded roles.
    writer = bearer(tenant, "producer", permissions=["PROGRESS:READ", "PROGRESS:WRITE"])

    def create():
        response = post(APIClient(), writer, CREATE, HTTP_IDEMPOTENCY_KEY="race")
        return response.status_code, response.json()["id"]

    ids = run_together(*[create] * 6)

    assert jobs_of(tenant).count() == 1
    assert {status for status, _ in ids} == {HTTPStatus.CREATED}
    assert len({job_id for _, job_id in ids}) == 1
    assert len(ids) == 6
