"""Traffic Ops producer routes: 202 + Location creates, PUT reports and finishes, 409s."""

import json
from http import HTTPStatus

import pytest
from rest_framework.test import APIClient

from async_status.models import AsyncStatus
from async_status.services import async_status_cancel
from tests.async_status.helpers import VERSIONS, snapshot
from tests.helpers import run_together


@pytest.fixture
def writer(bearer, tenant) -> dict:
    return bearer(tenant, "admin")


def post(client, headers, body, version="5.0", **extra):
    return client.post(
        f"/api/{version}/async_status",
        json.dumps(body),
        content_type="application/json",
        **headers,
        **extra,
    )


def put(client, headers, job_id, body, version="5.0"):
    return client.put(
        f"/api/{version}/async_status/{job_id}",
        json.dumps(body),
        content_type="application/json",
        **headers,
    )


def jobs_of(tenant):
    return AsyncStatus.objects.for_tenant(tenant)


@pytest.mark.parametrize("version", VERSIONS)
def test_create_is_202_with_location_and_a_success_alert(api_client, writer, tenant, version):
    response = post(api_client, writer, {"message": "Renewal started."}, version=version)

    assert response.status_code == HTTPStatus.ACCEPTED
    job = jobs_of(tenant).get()
    assert (job.status, job.message) == ("PENDING", "Renewal started.")
    assert response["Location"] == f"/api/4.0/async_status/{job.pk}"
    assert response.json() == {
        "alerts": [
            {
                "text": f"Async job started. Status updates can be found here: "
                f"/api/4.0/async_status/{job.pk}",
                "level": "success",
            }
        ]
    }


def test_a_retried_create_with_the_same_key_answers_the_same(api_client, writer, tenant):
    first = post(api_client, writer, {"message": "m"}, HTTP_IDEMPOTENCY_KEY="k")
    again = post(api_client, writer, {"message": "m"}, HTTP_IDEMPOTENCY_KEY="k")

    assert again.status_code == first.status_code == HTTPStatus.ACCEPTED
    assert again["Location"] == first["Location"]
    assert again.json() == first.json()
    assert jobs_of(tenant).count() == 1


def test_a_key_reused_with_another_body_is_422_in_alerts(api_client, writer, tenant):
    post(api_client, writer, {"message": "m"}, HTTP_IDEMPOTENCY_KEY="k")
    response = post(api_client, writer, {"message": "other"}, HTTP_IDEMPOTENCY_KEY="k")

    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert response.json()["alerts"][0]["level"] == "error"
    assert jobs_of(tenant).count() == 1


@pytest.mark.parametrize(
    "body", [{}, {"message": 3}, {"message": None}, {"message": "nul\x00"}, [1], "text"]
)
def test_bad_create_bodies_are_400_alerts(api_client, writer, tenant, body):
    response = post(api_client, writer, body)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["alerts"][0]["level"] == "error"
    assert not jobs_of(tenant).exists()


@pytest.mark.parametrize("role", ["operations", "read-only"])
def test_create_needs_async_status_write(api_client, bearer, tenant, role):
    response = post(api_client, bearer(tenant, role), {"message": "m"})

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json() == {
        "alerts": [{"text": "missing required Permissions: ASYNC-STATUS:WRITE", "level": "error"}]
    }
    assert not jobs_of(tenant).exists()


def test_create_without_credentials_is_401(api_client, tenant):
    assert post(api_client, {}, {"message": "m"}).status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.parametrize("version", ["4.0", "4.1"])
def test_the_list_is_still_not_served_before_5_0(api_client, writer, version):
    response = api_client.get(f"/api/{version}/async_status", **writer)

    assert response.status_code == HTTPStatus.NOT_FOUND


def test_report_replaces_the_message_of_a_pending_job(api_client, writer, make_job, tenant):
    job = make_job(tenant)

    response = put(api_client, writer, job.pk, {"message": "3 of 9 renewed."})

    assert response.status_code == HTTPStatus.OK
    assert response.json()["response"]["message"] == "3 of 9 renewed."
    assert response.json()["alerts"][0]["level"] == "success"
    job.refresh_from_db()
    assert (job.status, job.message) == ("PENDING", "3 of 9 renewed.")


@pytest.mark.parametrize("status", ["SUCCEEDED", "FAILED"])
def test_report_finishes_a_job(api_client, writer, make_job, tenant, status):
    job = make_job(tenant)

    response = put(api_client, writer, job.pk, {"status": status, "message": "done"})

    assert response.status_code == HTTPStatus.OK
    assert response.json()["response"]["status"] == status
    assert response.json()["response"]["end_time"] is not None


def test_finishing_a_cancelled_job_is_409_naming_its_state(
    api_client, writer, make_job, make_member, tenant
):
    job = make_job(tenant)
    async_status_cancel(job, actor=make_member(tenant))
    before = snapshot(job)

    response = put(api_client, writer, job.pk, {"status": "SUCCEEDED", "message": "done"})

    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json() == {
        "alerts": [
            {"text": f"async status {job.pk} has already finished as FAILED.", "level": "error"}
        ]
    }
    assert snapshot(job) == before


@pytest.mark.parametrize(
    "body",
    [{}, {"status": "DONE", "message": "m"}, {"status": "SUCCEEDED"}, {"message": 1}, [1]],
)
def test_bad_reports_are_400_and_change_nothing(api_client, writer, make_job, tenant, body):
    job = make_job(tenant)
    before = snapshot(job)

    response = put(api_client, writer, job.pk, body)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert snapshot(job) == before


@pytest.mark.parametrize("raw_id", ["abc", "1.5", "9" * 40])
def test_reports_on_junk_ids_are_400(api_client, writer, raw_id):
    assert put(api_client, writer, raw_id, {"message": "m"}).status_code == HTTPStatus.BAD_REQUEST


def test_report_on_another_tenants_job_is_404_and_leaves_it(
    api_client, writer, make_job, other_tenant
):
    other = make_job(other_tenant)
    before = snapshot(other)

    response = put(api_client, writer, other.pk, {"status": "SUCCEEDED", "message": "x"})

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert snapshot(other) == before


@pytest.mark.parametrize("role", ["operations", "read-only"])
def test_report_needs_async_status_write(api_client, bearer, make_job, tenant, role):
    job = make_job(tenant)
    before = snapshot(job)

    response = put(api_client, bearer(tenant, role), job.pk, {"message": "x"})

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert snapshot(job) == before


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_key_make_exactly_one_job(bearer, tenant):
    # A role of its own: transactional tests flush the seeded roles.
    writer = bearer(tenant, "producer", permissions=["ASYNC-STATUS:READ", "ASYNC-STATUS:WRITE"])

    def create():
        response = post(APIClient(), writer, {"message": "m"}, HTTP_IDEMPOTENCY_KEY="race")
        return response.status_code, response["Location"]

    locations = run_together(*[create] * 6)

    assert jobs_of(tenant).count() == 1
    assert len(locations) == 6
    assert len(set(locations)) == 1
