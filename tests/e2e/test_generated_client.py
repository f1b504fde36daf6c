"""A Python client generated from schema.yml reads, cancels and fails typed against the server."""

import importlib
import pkgutil
import zipfile
from datetime import datetime
from http import HTTPStatus

import pytest

from progress.models import Progress
from tests.e2e.conftest import PASSWORD
from tests.e2e.openapi import committed_tags

pytestmark = pytest.mark.e2e


def test_generated_client_imports_cleanly_with_one_api_package_per_family_tag(generated_client):
    prefix = f"{generated_client.__name__}."
    for info in pkgutil.walk_packages(generated_client.__path__, prefix):
        importlib.import_module(info.name)
    api = importlib.import_module(f"{prefix}api")

    assert {info.name for info in pkgutil.iter_modules(api.__path__)} == committed_tags()
    assert callable(generated_client.AuthenticatedClient)


@pytest.mark.parametrize(
    ("scheme", "header", "value"),
    [("bearer", "Authorization", "Bearer {key}"), ("x-auth-token", "X-Auth-Token", "{key}")],
)
def test_generated_client_sends_the_key_in_the_schemes_header_to_the_live_server(
    make_generated_client, tenant_admin_key, scheme, header, value
):
    http = make_generated_client(tenant_admin_key, scheme=scheme).get_httpx_client()

    assert http.headers[header] == value.format(key=tenant_admin_key)
    assert http.get("/api/schema/").status_code == HTTPStatus.OK


def test_generated_client_without_a_key_sends_no_credentials(make_generated_client):
    http = make_generated_client().get_httpx_client()

    assert "Authorization" not in http.headers
    assert "X-Auth-Token" not in http.headers


def api(client_package, tag: str, operation_id: str):
    """Return the generated module of `operation_id` (its `sync_detailed` and friends)."""
    return importlib.import_module(f"{client_package.__name__}.api.{tag}.{operation_id}")


def models(client_package):
    return importlib.import_module(f"{client_package.__name__}.models")


def test_generated_client_reads_a_canvas_progress_as_a_typed_object(
    generated_client, make_generated_client, tenant_admin_key, seeded_jobs
):
    client = make_generated_client(tenant_admin_key)

    response = api(generated_client, "progress", "progress_retrieve").sync_detailed(
        seeded_jobs.progress_id, client=client
    )

    progress = response.parsed
    assert response.status_code == HTTPStatus.OK
    assert isinstance(progress, models(generated_client).Progress)
    assert progress.id == seeded_jobs.progress_id
    assert progress.workflow_state == models(generated_client).ProgressWorkflowState.RUNNING
    assert progress.completion == pytest.approx(40.0)
    assert progress.message is None
    assert isinstance(progress.created_at, datetime)
    assert isinstance(progress.results, generated_client.types.Unset)


def test_generated_client_reads_a_canvas_progress_through_lti(
    generated_client, make_generated_client, seeded_jobs
):
    client = make_generated_client(seeded_jobs.lti_key)

    progress = api(generated_client, "progress", "progress_lti_retrieve").sync(
        seeded_jobs.course_id, seeded_jobs.progress_id, client=client
    )

    assert isinstance(progress, models(generated_client).LtiProgress)
    assert progress.url.endswith(
        f"/api/lti/courses/{seeded_jobs.course_id}/progress/{seeded_jobs.progress_id}"
    )


def test_generated_client_cancels_a_canvas_progress_which_becomes_failed(
    generated_client, make_generated_client, tenant_admin_key, seeded_jobs
):
    client = make_generated_client(tenant_admin_key)
    body = models(generated_client).ProgressCancelRequest(message="Stopped by the client.")

    progress = api(generated_client, "progress", "progress_cancel").sync(
        seeded_jobs.progress_id, client=client, body=body
    )

    assert progress.workflow_state == models(generated_client).ProgressWorkflowState.FAILED
    assert progress.message == "Stopped by the client."
    stored = Progress.objects.across_tenants().get(pk=seeded_jobs.progress_id)
    assert stored.workflow_state == Progress.State.FAILED
    assert stored.message == "Stopped by the client."


def test_generated_client_cancels_with_a_form_body_too(
    generated_client, make_generated_client, tenant_admin_key, seeded_jobs
):
    client = make_generated_client(tenant_admin_key)
    body = models(generated_client).ProgressCancelFormRequest(message="Stopped by a form.")

    progress = api(generated_client, "progress", "progress_cancel").sync(
        seeded_jobs.progress_id, client=client, body=body
    )

    assert progress.message == "Stopped by a form."
    stored = Progress.objects.across_tenants().get(pk=seeded_jobs.progress_id)
    assert stored.workflow_state == Progress.State.FAILED


def test_generated_client_lists_canvas_progress_with_the_link_header(
    generated_client, make_generated_client, tenant_admin_key, seeded_jobs
):
    client = make_generated_client(tenant_admin_key)

    response = api(generated_client, "progress", "progress_list").sync_detailed(
        client=client, per_page=1
    )

    assert [progress.id for progress in response.parsed] == [seeded_jobs.finished_progress_id]
    assert 'rel="next"' in response.headers["Link"]


def test_generated_client_reads_a_traffic_ops_async_status_as_a_typed_object(
    generated_client, make_generated_client, tenant_admin_key, seeded_jobs
):
    client = make_generated_client(tenant_admin_key)
    version = models(generated_client).AsyncStatusRetrieveVersion("4.0")

    answer = api(generated_client, "async_status", "async_status_retrieve").sync(
        version, seeded_jobs.async_status_id, client=client
    )

    job = answer.response
    assert isinstance(job, models(generated_client).AsyncStatus)
    assert job.id == seeded_jobs.async_status_id
    assert job.status == models(generated_client).AsyncStatusStatus.PENDING
    assert job.end_time is None
    assert isinstance(job.start_time, datetime)
    assert job.message == "DNSSEC refresh started"


def test_generated_client_logs_in_to_traffic_ops_with_the_login_body(
    generated_client, make_generated_client, seeded_jobs
):
    client = make_generated_client()
    version = models(generated_client).UserLoginVersion("5.0")
    body = models(generated_client).TrafficOpsLoginRequest(u=seeded_jobs.username, p=PASSWORD)

    response = api(generated_client, "async_status", "user_login").sync_detailed(
        version, client=client, body=body
    )

    assert response.status_code == HTTPStatus.OK
    assert [alert.text for alert in response.parsed.alerts] == ["Successfully logged in."]
    assert "sessionid" in response.headers["Set-Cookie"]


def test_generated_client_reads_a_roma_asset_job_as_a_typed_object(
    generated_client, make_generated_client, tenant_admin_key, seeded_jobs
):
    client = make_generated_client(tenant_admin_key, scheme="x-auth-token")

    response = api(generated_client, "asset_jobs", "asset_job_retrieve").sync_detailed(
        seeded_jobs.project_id, seeded_jobs.instance_id, seeded_jobs.asset_job_id, client=client
    )

    job = response.parsed
    assert isinstance(job, models(generated_client).AssetJob)
    assert job.id == seeded_jobs.asset_job_id
    assert job.status == models(generated_client).AssetJobStatus.FAILED
    assert [reason.error_code for reason in job.reasons] == ["ROMA.00000101"]
    assert isinstance(job.archive_id, generated_client.types.Unset)
    assert isinstance(job.end_time, datetime)
    assert len(response.headers["X-Request-Id"]) == 32


def test_generated_client_downloads_a_roma_package_once(
    generated_client, make_generated_client, tenant_admin_key, seeded_jobs
):
    client = make_generated_client(tenant_admin_key, scheme="x-auth-token")
    download = api(generated_client, "asset_jobs", "asset_archive_download")
    path = (seeded_jobs.project_id, seeded_jobs.instance_id, seeded_jobs.archive_id)

    package = download.sync(*path, client=client)
    again = download.sync(*path, client=client)

    assert isinstance(package, generated_client.types.File)
    assert zipfile.ZipFile(package.payload).namelist() == ["manifest.json"]
    assert isinstance(again, models(generated_client).RomaError)
    assert again.error_code == "ROMA.00110006"


def test_generated_client_reads_and_lists_google_operations_as_typed_objects(
    generated_client, make_generated_client, tenant_admin_key, seeded_jobs
):
    client = make_generated_client(tenant_admin_key)
    lro = models(generated_client)

    got = api(generated_client, "lro", "operation_get").sync_detailed(
        seeded_jobs.project_id, seeded_jobs.operation_id, client=client
    )
    listed = api(generated_client, "lro", "operation_list").sync(
        seeded_jobs.project_id, client=client, filter_="done=true"
    )

    op = got.parsed
    assert isinstance(op, lro.Operation)
    assert op.name == f"projects/{seeded_jobs.project_id}/operations/{seeded_jobs.operation_id}"
    assert op.done is False
    assert op.metadata.type_.value == "type.googleapis.com/google.protobuf.Struct"
    assert op.metadata.value["target"] == "datasets/sales"
    assert isinstance(op.response, generated_client.types.Unset)
    assert isinstance(listed, lro.ListOperationsResponse)
    assert [each.done for each in listed.operations] == [True]
    assert listed.next_page_token == ""


@pytest.mark.parametrize(
    ("tag", "operation_id", "path", "scheme", "error_model", "fields"),
    [
        (
            "progress",
            "progress_retrieve",
            lambda jobs: (999_999,),
            "bearer",
            "CanvasErrors",
            lambda error: [message.message for message in error.errors],
        ),
        (
            "progress",
            "progress_lti_retrieve",
            lambda jobs: (jobs.course_id, 999_999),
            "bearer",
            "LtiErrors",
            lambda error: [error.errors.type_, error.errors.message],
        ),
        (
            "async_status",
            "async_status_retrieve",
            lambda jobs: ("5.0", 999_999),
            "bearer",
            "TrafficOpsAlerts",
            lambda error: [(alert.text, alert.level.value) for alert in error.alerts],
        ),
        (
            "asset_jobs",
            "asset_job_retrieve",
            lambda jobs: (jobs.project_id, jobs.instance_id, "0" * 32),
            "x-auth-token",
            "RomaError",
            lambda error: [error.error_code, error.error_msg],
        ),
        (
            "lro",
            "operation_get",
            lambda jobs: (jobs.project_id, 999_999),
            "bearer",
            "GoogleError",
            lambda error: [error.error.code, error.error.status.value],
        ),
    ],
)
def test_generated_client_gets_each_familys_typed_error_for_a_missing_job(
    generated_client,
    make_generated_client,
    tenant_admin_key,
    seeded_jobs,
    tag,
    operation_id,
    path,
    scheme,
    error_model,
    fields,
):
    key = seeded_jobs.lti_key if operation_id == "progress_lti_retrieve" else tenant_admin_key
    client = make_generated_client(key, scheme=scheme)

    response = api(generated_client, tag, operation_id).sync_detailed(
        *typed_path(generated_client, operation_id, path(seeded_jobs)), client=client
    )

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert isinstance(response.parsed, getattr(models(generated_client), error_model))
    assert fields(response.parsed) == MISSING_JOB_ERRORS[operation_id]


MISSING_JOB_ERRORS = {
    "progress_retrieve": ["The specified resource does not exist."],
    "progress_lti_retrieve": ["not_found", "The specified resource does not exist."],
    "async_status_retrieve": [("Not Found", "error")],
    "asset_job_retrieve": ["ROMA.00110006", "The resource does not exist."],
    "operation_get": [404, "NOT_FOUND"],
}


def typed_path(client_package, operation_id: str, values: tuple) -> tuple:
    """Return `values` with a Traffic Ops version as the generated client's enum."""
    if operation_id != "async_status_retrieve":
        return values
    version, *rest = values
    return (models(client_package).AsyncStatusRetrieveVersion(version), *rest)


def test_generated_client_without_a_key_gets_the_typed_401(generated_client, make_generated_client):
    client = make_generated_client()

    response = api(generated_client, "progress", "progress_retrieve").sync_detailed(
        1, client=client
    )

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    error = response.parsed
    assert isinstance(error, models(generated_client).CanvasErrors)
    assert error.status == models(generated_client).CanvasErrorStatus.UNAUTHENTICATED
    assert [message.message for message in error.errors] == ["user authorization required"]
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="canvas-lms"'


def test_generated_client_reads_any_familys_job_timeline_as_typed_events(
    generated_client, make_generated_client, tenant_admin_key, seeded_jobs
):
    client = make_generated_client(tenant_admin_key, scheme="x-auth-token")
    family = models(generated_client).JobTimelineRetrieveFamily("asset_jobs")
    kind = models(generated_client).JobEventKind

    timeline = api(generated_client, "jobs", "job_timeline_retrieve").sync(
        family, seeded_jobs.asset_job_id, client=client
    )

    assert isinstance(timeline, models(generated_client).Timeline)
    assert (timeline.family, timeline.job_id) == ("asset_jobs", seeded_jobs.asset_job_id)
    assert (timeline.events[0].kind, timeline.events[-1].kind) == (kind.CREATED, kind.FAILED)
    assert timeline.events[0].from_state is None
    assert isinstance(timeline.events[-1].at, datetime)


def test_generated_client_gets_jobdesks_typed_error_for_a_missing_jobs_timeline(
    generated_client, make_generated_client, tenant_admin_key
):
    client = make_generated_client(tenant_admin_key)
    family = models(generated_client).JobTimelineRetrieveFamily("progress")

    response = api(generated_client, "jobs", "job_timeline_retrieve").sync_detailed(
        family, "999999", client=client
    )

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert isinstance(response.parsed, models(generated_client).JobdeskError)
    assert "999999" in response.parsed.detail
