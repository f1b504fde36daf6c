"""ROMA producer routes: create with Idempotency-Key, report, fail, upload a package, 409s."""

import json
from http import HTTPStatus

import pytest
from rest_framework.test import APIClient

from asset_jobs.models import AssetJob, AssetJobReason
from asset_jobs.services import asset_job_cancel
from tests.asset_jobs.factories import make_job, make_zip, reload
from tests.asset_jobs.helpers import assert_roma_error, job_url
from tests.helpers import run_together

REASON = {
    "resource_type": "task",
    "resource_name": "sync-orders",
    "error_code": "ROMA.0001",
    "error_msg": "Bad mapping.",
}


@pytest.fixture
def writer(x_auth, tenant) -> dict:
    return x_auth(tenant, "admin")


def jobs_url(instance) -> str:
    return f"/v2/{instance.tenant.project_id}/instances/{instance.instance_id}/assets/jobs"


def send(client, method, url, headers, body, **extra):
    return getattr(client, method)(
        url, json.dumps(body), content_type="application/json", **headers, **extra
    )


def upload(client, job, headers, content: bytes, **extra):
    return client.put(
        job_url(job) + "/archive", content, content_type="application/zip", **headers, **extra
    )


def state(job) -> tuple:
    row = reload(job)
    return row.status, row.progress_percent, row.archive_id, row.end_time


def test_create_answers_the_new_job_id(api_client, writer, instance):
    response = send(api_client, "post", jobs_url(instance), writer, {"type": "exportAsset"})

    assert response.status_code == HTTPStatus.OK
    job = AssetJob.objects.for_tenant(instance.tenant).get()
    assert response.json() == {"job_id": job.pk}
    assert (job.type, job.status, job.instance_id) == ("exportAsset", "Running", instance.pk)


def test_a_retried_create_with_the_same_key_answers_the_same_job(api_client, writer, instance):
    url = jobs_url(instance)
    first = send(api_client, "post", url, writer, {"type": "importAsset"}, HTTP_IDEMPOTENCY_KEY="k")
    again = send(api_client, "post", url, writer, {"type": "importAsset"}, HTTP_IDEMPOTENCY_KEY="k")

    assert again.json() == first.json()
    assert AssetJob.objects.for_tenant(instance.tenant).count() == 1


def test_a_key_reused_with_another_type_is_422(api_client, writer, instance):
    url = jobs_url(instance)
    send(api_client, "post", url, writer, {"type": "importAsset"}, HTTP_IDEMPOTENCY_KEY="k")
    response = send(
        api_client, "post", url, writer, {"type": "deleteAsset"}, HTTP_IDEMPOTENCY_KEY="k"
    )

    assert_roma_error(response, HTTPStatus.UNPROCESSABLE_ENTITY, "ROMA.JOBDESK.IDEMPOTENCY")
    assert AssetJob.objects.for_tenant(instance.tenant).count() == 1


@pytest.mark.parametrize(
    "body", [{}, {"type": "bogus"}, {"type": 1}, {"type": ["exportAsset"]}, {"kind": "x"}, [1]]
)
def test_bad_create_bodies_are_roma_13000(api_client, writer, instance, body):
    response = send(api_client, "post", jobs_url(instance), writer, body)

    assert_roma_error(response, HTTPStatus.BAD_REQUEST, "ROMA.13000")
    assert not AssetJob.objects.for_tenant(instance.tenant).exists()


def test_create_in_an_unknown_instance_is_404(api_client, writer, tenant):
    url = f"/v2/{tenant.project_id}/instances/nope/assets/jobs"

    response = send(api_client, "post", url, writer, {"type": "exportAsset"})

    assert_roma_error(response, HTTPStatus.NOT_FOUND, "ROMA.00014002")


def test_create_in_another_tenants_project_is_403_and_creates_nothing(
    api_client, writer, other_instance
):
    response = send(api_client, "post", jobs_url(other_instance), writer, {"type": "exportAsset"})

    assert_roma_error(response, HTTPStatus.FORBIDDEN, "ROMA.1006")
    assert not AssetJob.objects.across_tenants().exists()


@pytest.mark.parametrize("role", ["read-only", "operations"])
def test_create_needs_asset_job_write(api_client, x_auth, tenant, instance, role):
    response = send(api_client, "post", jobs_url(instance), x_auth(tenant, role), {"type": "x"})

    assert_roma_error(response, HTTPStatus.FORBIDDEN, "ROMA.1006")


def test_report_moves_progress_forward(api_client, writer, instance):
    job = make_job(instance)

    response = send(api_client, "put", job_url(job), writer, {"progress_percent": 0.4})

    assert response.status_code == HTTPStatus.OK
    assert response.json()["progress_percent"] == 0.4
    assert reload(job).progress_percent == 0.4


def test_report_of_success_finishes_the_job(api_client, writer, instance):
    job = make_job(instance)

    response = send(api_client, "put", job_url(job), writer, {"status": "Success"})

    assert response.json()["status"] == "Success"
    assert reload(job).progress_percent == 1.0


def test_report_of_failure_records_its_reasons(api_client, writer, instance):
    job = make_job(instance)

    response = send(
        api_client, "put", job_url(job), writer, {"status": "Failed", "reasons": [REASON]}
    )

    assert response.status_code == HTTPStatus.OK
    assert response.json()["reasons"] == [REASON]
    assert AssetJobReason.objects.filter(job=job).count() == 1


def test_finishing_a_cancelled_job_is_409_naming_its_status(
    api_client, writer, instance, make_member, tenant
):
    job = make_job(instance)
    asset_job_cancel(job, actor=make_member(tenant))
    before = state(job)

    response = send(api_client, "put", job_url(job), writer, {"status": "Success"})

    body = assert_roma_error(response, HTTPStatus.CONFLICT, "ROMA.JOBDESK.CONFLICT")
    assert "its status is Failed" in body["error_details"]
    assert state(job) == before


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"progress_percent": 2},
        {"progress_percent": "half"},
        {"progress_percent": True},
        {"status": "Finished"},
        {"status": "Failed"},
        {"status": "Failed", "reasons": [{"resource_type": "x"}]},
        {"reasons": [REASON]},
        {"other": 1},
        [1],
    ],
)
def test_bad_reports_are_roma_13000_and_change_nothing(api_client, writer, instance, body):
    job = make_job(instance, progress=0.2)
    before = state(job)

    response = send(api_client, "put", job_url(job), writer, body)

    assert_roma_error(response, HTTPStatus.BAD_REQUEST, "ROMA.13000")
    assert state(job) == before


def test_report_on_another_tenants_job_is_403_and_leaves_it(api_client, writer, other_instance):
    job = make_job(other_instance)
    before = state(job)

    response = send(api_client, "put", job_url(job), writer, {"status": "Success"})

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert state(job) == before


def test_report_on_another_tenants_job_id_in_own_project_is_404(
    api_client, writer, instance, other_instance
):
    job = make_job(other_instance)
    url = job_url(job, project_id=instance.tenant.project_id, instance_id=instance.instance_id)

    response = send(api_client, "put", url, writer, {"status": "Success"})

    assert_roma_error(response, HTTPStatus.NOT_FOUND, "ROMA.00110006")
    assert reload(job).status == "Running"


@pytest.mark.parametrize("role", ["read-only", "operations"])
def test_report_needs_asset_job_write(api_client, x_auth, tenant, instance, role):
    job = make_job(instance)

    response = send(api_client, "put", job_url(job), x_auth(tenant, role), {"status": "Success"})

    assert_roma_error(response, HTTPStatus.FORBIDDEN, "ROMA.1006")
    assert reload(job).status == "Running"


def test_an_uploaded_package_finishes_the_export_and_can_be_downloaded(
    api_client, writer, x_auth, tenant, instance
):
    job = make_job(instance, type="exportAsset")
    content = make_zip({"apps.json": "[]"})

    response = upload(api_client, job, writer, content)

    assert response.status_code == HTTPStatus.OK
    archive_id = response.json()["archive_id"]
    reader = x_auth(tenant, "read-only")
    download = api_client.get(
        f"/v2/{tenant.project_id}/instances/{instance.instance_id}/assets/archives/{archive_id}",
        **reader,
    )
    assert b"".join(download.streaming_content) == content


@pytest.mark.parametrize("content", [b"", b"not a zip", b"PK\x05\x06broken"])
def test_an_upload_that_is_not_a_zip_is_400_and_leaves_the_job_running(
    api_client, writer, instance, content
):
    job = make_job(instance, type="exportAsset")

    response = upload(api_client, job, writer, content)

    assert_roma_error(response, HTTPStatus.BAD_REQUEST, "ROMA.13000")
    assert reload(job).status == "Running"


def test_an_upload_over_the_limit_is_413(api_client, writer, instance, settings):
    settings.JOBDESK_MAX_ARCHIVE_BYTES = 100
    job = make_job(instance, type="exportAsset")

    response = upload(api_client, job, writer, make_zip({"big.txt": "x" * 5000}))

    assert_roma_error(response, HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "ROMA.JOBDESK.TOO_LARGE")
    assert reload(job).status == "Running"


def test_an_upload_for_an_import_is_400(api_client, writer, instance):
    job = make_job(instance, type="importAsset")

    response = upload(api_client, job, writer, make_zip())

    assert_roma_error(response, HTTPStatus.BAD_REQUEST, "ROMA.13000")


def test_an_upload_for_a_finished_export_is_409(api_client, writer, instance):
    job = make_job(instance, "Failed", type="exportAsset")

    response = upload(api_client, job, writer, make_zip())

    assert_roma_error(response, HTTPStatus.CONFLICT, "ROMA.JOBDESK.CONFLICT")


def test_an_upload_needs_asset_job_write(api_client, x_auth, tenant, instance):
    job = make_job(instance, type="exportAsset")

    response = upload(api_client, job, x_auth(tenant, "operations"), make_zip())

    assert_roma_error(response, HTTPStatus.FORBIDDEN, "ROMA.1006")


@pytest.mark.parametrize("job_id", ["x", "0" * 33, "ABCDEF0123456789ABCDEF0123456789"])
def test_reports_on_junk_job_ids_are_400(api_client, writer, instance, job_id):
    url = f"{jobs_url(instance)}/{job_id}"

    assert_roma_error(
        send(api_client, "put", url, writer, {"status": "Success"}),
        HTTPStatus.BAD_REQUEST,
        "ROMA.13000",
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_key_make_exactly_one_job(x_auth, tenant, instance):
    # A role of its own: transactional tests flush the seeded roles.
    writer = x_auth(tenant, "producer", permissions=["ASSET-JOB:READ", "ASSET-JOB:WRITE"])

    def create():
        response = send(
            APIClient(),
            "post",
            jobs_url(instance),
            writer,
            {"type": "exportAsset"},
            HTTP_IDEMPOTENCY_KEY="race",
        )
        return response.json()["job_id"]

    answers = run_together(*[create] * 6)

    assert AssetJob.objects.for_tenant(instance.tenant).count() == 1
    assert len(answers) == 6
    assert len(set(answers)) == 1
