"""ROMA's ImportAsset, ExportAsset and DeleteAsset: each starts a job that a configured
handler (a tracked task) runs, answering `{"job_id": ...}` as ROMA does."""

import io
import json
import threading
import zipfile
from http import HTTPStatus

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connection
from rest_framework.test import APIClient

from asset_jobs.models import AssetJob
from asset_jobs.services import asset_job_purge
from tests.asset_jobs.factories import make_job, make_zip, reload
from tests.asset_jobs.handlers import HANDLERS
from tests.asset_jobs.helpers import assert_roma_error, job_url, list_url

pytestmark = pytest.mark.django_db

State, Type = AssetJob.State, AssetJob.Type
SELECTION = {"apps": [{"id": "app-1"}], "tasks": [{"id": "task-1"}, {"id": "task-2"}]}


@pytest.fixture(autouse=True)
def handlers(settings):
    settings.JOBDESK_ASSET_JOB_HANDLERS = dict(HANDLERS)
    return settings.JOBDESK_ASSET_JOB_HANDLERS


@pytest.fixture
def run_now(settings, django_capture_on_commit_callbacks):
    """Run handlers at once, when the request's transaction commits."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    return django_capture_on_commit_callbacks


@pytest.fixture
def writer(x_auth, tenant):
    return x_auth(tenant, "admin")


def operation_url(instance, name: str, *, project_id=None, instance_id=None) -> str:
    base = list_url(instance, project_id=project_id, instance_id=instance_id)
    return base.removesuffix("/jobs") + f"/{name}"


def post(api_client, instance, name, headers, body=SELECTION, **options):
    return api_client.post(
        operation_url(instance, name, **options),
        json.dumps(body),
        content_type="application/json",
        **headers,
    )


def upload(
    api_client, instance, headers, content: bytes, *, query="", field="ImportAssetRequestBody"
):
    package = io.BytesIO(content)
    package.name = "assets.zip"
    url = operation_url(instance, "import") + query
    return api_client.post(url, {field: package}, format="multipart", **headers)


def jobs(tenant):
    return AssetJob.objects.for_tenant(tenant)


@pytest.mark.parametrize(("name", "job_type"), [("export", Type.EXPORT), ("delete", Type.DELETE)])
def test_an_export_or_delete_answers_the_new_jobs_id(api_client, instance, writer, name, job_type):
    response = post(api_client, instance, name, writer)

    assert response.status_code == HTTPStatus.OK
    job = jobs(instance.tenant).get()
    assert response.json() == {"job_id": job.pk}
    assert (job.type, job.status, job.instance_id, job.exclusive) == (
        job_type,
        State.RUNNING,
        instance.pk,
        True,
    )
    assert job.user is not None


def test_the_export_handler_runs_and_its_package_is_downloadable_once(
    api_client, instance, writer, run_now
):
    with run_now(execute=True):
        job_id = post(api_client, instance, "export", writer).json()["job_id"]

    job = api_client.get(job_url(reload_id(instance, job_id)), **writer).json()
    assert (job["status"], job["progress_percent"]) == ("Success", 1.0)
    url = list_url(instance).removesuffix("/jobs") + f"/archives/{job['archive_id']}"
    package = b"".join(api_client.get(url, **writer).streaming_content)
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(package)).read("manifest.json"))
    assert manifest == {"apps": ["app-1"], "tasks": ["task-1", "task-2"]}
    assert api_client.get(job_url(reload_id(instance, job_id)), **writer).json()["status"] == (
        "Finished"
    )


def reload_id(instance, job_id):
    return jobs(instance.tenant).select_related("instance", "tenant").get(pk=job_id)


def test_an_import_stores_the_zip_and_hands_it_to_the_handler_with_romas_options(
    api_client, instance, writer, run_now
):
    content = make_zip({"apps/myApp.json": "{}"})
    with run_now(execute=True):
        response = upload(
            api_client,
            instance,
            writer,
            content,
            query="?type=Merge&prefix=p1&datasource_overwrite=true",
        )

    assert response.status_code == HTTPStatus.OK
    job = jobs(instance.tenant).get(pk=response.json()["job_id"])
    assert (job.type, job.status) == (Type.IMPORT, State.SUCCESS)
    assert default_storage.open(job.upload.name).read() == content
    with default_storage.open(f"seen/{job.pk}.json") as seen:
        assert json.load(seen) == [["apps/myApp.json"], "Merge", "p1", True]


def test_an_import_takes_the_file_under_any_part_name(api_client, instance, writer):
    response = upload(api_client, instance, writer, make_zip(), field="File")

    assert response.status_code == HTTPStatus.OK
    assert jobs(instance.tenant).get().type == Type.IMPORT


def test_a_file_that_is_not_a_zip_is_romas_10013_and_nothing_starts(api_client, instance, writer):
    response = upload(api_client, instance, writer, b"not a zip at all")

    assert_roma_error(
        response, HTTPStatus.BAD_REQUEST, "ROMA.10013", "Only .zip files are supported."
    )
    assert not jobs(instance.tenant).exists()


@pytest.mark.parametrize(
    "query", ["?type=Replace", "?datasource_overwrite=yes", "?prefix=../x", "?flavour=1"]
)
def test_bad_import_options_are_a_400_and_nothing_starts(api_client, instance, writer, query):
    response = upload(api_client, instance, writer, make_zip(), query=query)

    assert_roma_error(response, HTTPStatus.BAD_REQUEST, "ROMA.13000")
    assert not jobs(instance.tenant).exists()


def test_an_import_without_a_file_is_a_400(api_client, instance, writer):
    response = api_client.post(operation_url(instance, "import"), {}, format="multipart", **writer)
    json_body = post(api_client, instance, "import", writer)

    assert_roma_error(response, HTTPStatus.BAD_REQUEST, "ROMA.13000")
    assert json_body.status_code == HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    assert not jobs(instance.tenant).exists()


def test_an_import_larger_than_the_archive_limit_is_a_413(api_client, instance, writer, settings):
    settings.JOBDESK_MAX_ARCHIVE_BYTES = 100

    response = upload(api_client, instance, writer, make_zip({"big.txt": "x" * 5000}))

    assert_roma_error(response, HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "ROMA.JOBDESK.TOO_LARGE")
    assert not jobs(instance.tenant).exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"apps": []},
        {"apps": [], "tasks": []},
        {"apps": [{"id": "a"}], "tasks": [], "more": 1},
        {"apps": "app-1", "tasks": []},
        {"apps": ["app-1"], "tasks": []},
        {"apps": [{"id": 1}], "tasks": []},
        {"apps": [{"id": "../x"}], "tasks": []},
        {"apps": [{"id": "a", "name": "b"}], "tasks": []},
        {"apps": [{"id": f"a{n}"} for n in range(101)], "tasks": []},
        [SELECTION],
    ],
)
def test_a_malformed_selection_is_a_400_and_nothing_starts(api_client, instance, writer, body):
    response = post(api_client, instance, "export", writer, body)

    assert_roma_error(response, HTTPStatus.BAD_REQUEST, "ROMA.13000")
    assert not jobs(instance.tenant).exists()


@pytest.mark.parametrize("name", ["export", "delete", "import"])
def test_a_type_without_a_handler_is_romas_unsupported_feature(
    api_client, instance, writer, handlers, name
):
    handlers.clear()

    response = (
        upload(api_client, instance, writer, make_zip())
        if name == "import"
        else post(api_client, instance, name, writer)
    )

    body = assert_roma_error(
        response, HTTPStatus.BAD_REQUEST, "ROMA.12002", "The user does not support this feature."
    )
    assert "No handler runs" in body["error_details"]
    assert not jobs(instance.tenant).exists()


# One import or export, and one deletion, at a time -------------------------------------------


@pytest.mark.parametrize("second", ["export", "import"])
def test_an_import_or_export_while_one_runs_is_romas_10012(api_client, instance, writer, second):
    first = post(api_client, instance, "export", writer).json()["job_id"]

    response = (
        upload(api_client, instance, writer, make_zip())
        if second == "import"
        else post(api_client, instance, "export", writer)
    )

    assert_roma_error(
        response, HTTPStatus.BAD_REQUEST, "ROMA.10012", "An asset management task is running."
    )
    assert list(jobs(instance.tenant).values_list("pk", flat=True)) == [first]


def test_a_deletion_runs_beside_an_export_but_not_beside_another_deletion(
    api_client, instance, writer
):
    post(api_client, instance, "export", writer)

    beside = post(api_client, instance, "delete", writer)
    again = post(api_client, instance, "delete", writer)

    assert beside.status_code == HTTPStatus.OK
    assert_roma_error(again, HTTPStatus.BAD_REQUEST, "ROMA.10012")


def test_a_new_export_starts_once_the_running_one_finished(api_client, instance, writer):
    from asset_jobs.services import asset_job_fail
    from tests.asset_jobs.factories import REASON

    first = reload(
        jobs(instance.tenant).get(pk=post(api_client, instance, "export", writer).json()["job_id"])
    )
    asset_job_fail(first, reasons=[REASON])

    assert post(api_client, instance, "export", writer).status_code == HTTPStatus.OK


def test_jobs_of_other_instances_and_of_producers_do_not_count(
    api_client, instance, writer, tenant
):
    from tests.asset_jobs.factories import InstanceFactory

    post(api_client, InstanceFactory(tenant=tenant), "export", writer)
    make_job(instance, type=Type.EXPORT)  # a producer's job: not started through this API

    assert post(api_client, instance, "export", writer).status_code == HTTPStatus.OK


def test_a_retried_export_with_the_same_idempotency_key_answers_the_same_job(
    api_client, instance, writer
):
    keyed = {**writer, "HTTP_IDEMPOTENCY_KEY": "k1"}
    first = post(api_client, instance, "export", keyed)
    again = post(api_client, instance, "export", keyed)

    assert again.status_code == HTTPStatus.OK
    assert again.json() == first.json()
    assert jobs(instance.tenant).count() == 1


# Access -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["export", "delete", "import"])
def test_a_reader_may_not_start_jobs(api_client, instance, x_auth, name):
    reader = x_auth(instance.tenant, "read-only")

    response = (
        upload(api_client, instance, reader, make_zip())
        if name == "import"
        else post(api_client, instance, name, reader)
    )

    assert_roma_error(response, HTTPStatus.FORBIDDEN, "ROMA.1006")
    assert not jobs(instance.tenant).exists()


def test_another_tenants_instance_is_403_and_gets_no_job(api_client, writer, other_instance):
    response = post(
        api_client,
        other_instance,
        "export",
        writer,
        project_id=other_instance.tenant.project_id,
    )

    assert_roma_error(response, HTTPStatus.FORBIDDEN, "ROMA.1006")
    assert not jobs(other_instance.tenant).exists()


def test_an_unknown_instance_is_404(api_client, instance, writer):
    response = post(api_client, instance, "export", writer, instance_id="nowhere")

    assert_roma_error(response, HTTPStatus.NOT_FOUND, "ROMA.00014002")
    assert not jobs(instance.tenant).exists()


def test_without_credentials_nothing_starts(api_client, instance):
    assert_roma_error(
        post(api_client, instance, "export", {}), HTTPStatus.UNAUTHORIZED, "ROMA.1000"
    )
    assert not jobs(instance.tenant).exists()


# Housekeeping -------------------------------------------------------------------------------------


def test_purging_a_finished_import_deletes_its_uploaded_package(
    api_client, instance, writer, run_now
):
    with run_now(execute=True):
        job_id = upload(api_client, instance, writer, make_zip()).json()["job_id"]
    stored = jobs(instance.tenant).get(pk=job_id).upload.name

    asset_job_purge(job_ids=[job_id])

    assert not default_storage.exists(stored)


@pytest.mark.parametrize(
    ("handlers", "message"),
    [
        ({"renameAsset": HANDLERS["exportAsset"]}, "is not a job type"),
        ({"exportAsset": "tests.asset_jobs.handlers.missing"}, "cannot import"),
        ({"exportAsset": HANDLERS["importAsset"]}, 'tag="exportAsset"'),
        ({"exportAsset": "tests.asset_jobs.handlers.not_an_asset_job"}, 'family="asset_jobs"'),
    ],
)
def test_a_wrong_handler_setting_stops_the_system_checks(settings, handlers, message):
    settings.JOBDESK_ASSET_JOB_HANDLERS = handlers

    with pytest.raises(SystemCheckError, match=message):
        call_command("check")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_exports_leave_exactly_one_running_job(x_auth, tenant, instance):
    # A role of its own: transactional tests flush the seeded roles.
    writer = x_auth(tenant, "producer", permissions=["ASSET-JOB:READ", "ASSET-JOB:WRITE"])
    barrier = threading.Barrier(6)
    statuses = []

    def export():
        barrier.wait()
        try:
            statuses.append(post(APIClient(), instance, "export", writer).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=export) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert jobs(instance.tenant).count() == 1
    assert sorted(statuses) == [HTTPStatus.OK] + [HTTPStatus.BAD_REQUEST] * 5
