import zipfile
from http import HTTPStatus
from io import BytesIO

import pytest
from django.core.files.storage import default_storage
from rest_framework.test import APIClient

from asset_jobs.models import AssetJob
from tests.asset_jobs.factories import (
    InstanceFactory,
    make_export_with_package,
    make_job,
    make_zip,
    reload,
)
from tests.asset_jobs.helpers import archive_url, assert_roma_error, job_url
from tests.factories import TenantFactory
from tests.helpers import run_together

pytestmark = pytest.mark.django_db

State = AssetJob.State


def download(response) -> bytes:
    return b"".join(response.streaming_content)


def test_package_downloads_once_then_the_job_is_finished(api_client, instance, x_auth):
    content = make_zip({"apps/myApp.json": '{"name": "myApp"}'})
    job = make_export_with_package(instance, content)
    headers, url, stored_name = x_auth(instance.tenant), archive_url(job), job.archive.name

    response = api_client.get(url, **headers)

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == f'attachment; filename="{job.archive_id}.zip"'
    assert response["Content-Length"] == str(len(content))
    assert response["Cache-Control"] == "no-store"
    assert len(response["X-Request-Id"]) == 32
    body = download(response)
    assert body == content
    assert zipfile.ZipFile(BytesIO(body)).namelist() == ["apps/myApp.json"]

    status = api_client.get(job_url(job), **headers).json()
    assert status["status"] == "Finished"
    assert "archive_id" not in status
    assert not default_storage.exists(stored_name)

    again = api_client.get(url, **headers)
    assert_roma_error(again, HTTPStatus.NOT_FOUND, "ROMA.00110006", "The resource does not exist.")


def test_head_is_refused_and_does_not_consume_the_download(api_client, instance, x_auth):
    job = make_export_with_package(instance)

    response = api_client.head(archive_url(job), **x_auth(instance.tenant))

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response["X-Request-Id"]
    assert reload(job).is_downloadable


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options"])
def test_other_methods_are_405_and_keep_the_package(api_client, instance, x_auth, method):
    job = make_export_with_package(instance)

    response = getattr(api_client, method)(archive_url(job), **x_auth(instance.tenant))

    assert_roma_error(response, HTTPStatus.METHOD_NOT_ALLOWED, "ROMA.1007")
    assert reload(job).is_downloadable


def test_unknown_archive_is_404(api_client, instance, x_auth):
    job = make_export_with_package(instance)

    response = api_client.get(archive_url(job, archive_id="f" * 32), **x_auth(instance.tenant))

    assert_roma_error(response, HTTPStatus.NOT_FOUND, "ROMA.00110006")
    assert reload(job).is_downloadable


def test_archive_under_an_unknown_instance_is_404_roma_00014002(api_client, instance, x_auth):
    job = make_export_with_package(instance)

    response = api_client.get(archive_url(job, instance_id="nope"), **x_auth(instance.tenant))

    assert_roma_error(response, HTTPStatus.NOT_FOUND, "ROMA.00014002")
    assert reload(job).is_downloadable


def test_archive_under_another_instance_of_the_project_is_404(api_client, instance, x_auth):
    InstanceFactory(tenant=instance.tenant, instance_id="sibling")
    job = make_export_with_package(instance)

    response = api_client.get(archive_url(job, instance_id="sibling"), **x_auth(instance.tenant))

    assert_roma_error(response, HTTPStatus.NOT_FOUND, "ROMA.00110006")
    assert reload(job).is_downloadable


def test_job_id_is_not_an_archive_id(api_client, instance, x_auth):
    job = make_export_with_package(instance)

    response = api_client.get(archive_url(job, archive_id=job.pk), **x_auth(instance.tenant))

    assert_roma_error(response, HTTPStatus.NOT_FOUND, "ROMA.00110006")


def test_other_tenants_package_is_never_downloadable_and_stays(
    api_client, instance, other_instance, x_auth
):
    other_job = make_export_with_package(other_instance)
    headers = x_auth(instance.tenant)

    in_own_project = api_client.get(
        archive_url(
            other_job, project_id=instance.tenant.project_id, instance_id=instance.instance_id
        ),
        **headers,
    )
    in_their_project = api_client.get(archive_url(other_job), **headers)

    assert_roma_error(in_own_project, HTTPStatus.NOT_FOUND, "ROMA.00110006")
    assert_roma_error(in_their_project, HTTPStatus.FORBIDDEN, "ROMA.1006")
    stored = reload(other_job)
    assert stored.is_downloadable
    assert default_storage.exists(stored.archive.name)


@pytest.mark.parametrize(
    ("headers", "status", "error_code"),
    [
        ({}, HTTPStatus.UNAUTHORIZED, "ROMA.1000"),
        ({"HTTP_X_AUTH_TOKEN": "junk"}, HTTPStatus.UNAUTHORIZED, "ROMA.1002"),
    ],
)
def test_unauthenticated_downloads_are_401_and_keep_the_package(
    api_client, instance, headers, status, error_code
):
    job = make_export_with_package(instance)

    assert_roma_error(api_client.get(archive_url(job), **headers), status, error_code)
    assert reload(job).is_downloadable


def test_download_without_asset_job_read_is_403(api_client, instance, x_auth):
    job = make_export_with_package(instance)
    headers = x_auth(instance.tenant, "progress-only", permissions=["PROGRESS:READ"])

    assert_roma_error(
        api_client.get(archive_url(job), **headers), HTTPStatus.FORBIDDEN, "ROMA.1006"
    )
    assert reload(job).is_downloadable


@pytest.mark.parametrize(
    "archive_id", ["", "a" * 65, "A" * 32, "0" * 31, "..", "%2e%2e", "%00", "x%20y", "-1"]
)
def test_malformed_archive_ids_are_400(api_client, instance, x_auth, archive_id):
    job = make_export_with_package(instance)

    response = api_client.get(archive_url(job, archive_id=archive_id), **x_auth(instance.tenant))

    body = assert_roma_error(response, HTTPStatus.BAD_REQUEST, "ROMA.13000")
    assert "archive_id" in body["error_details"]
    assert reload(job).is_downloadable


@pytest.mark.parametrize("state", [State.RUNNING, State.FAILED])
def test_jobs_without_a_package_have_nothing_to_download(api_client, instance, x_auth, state):
    job = make_job(instance, state, type=AssetJob.Type.EXPORT)
    stale_archive_id = "e" * 32

    response = api_client.get(
        archive_url(job, archive_id=stale_archive_id), **x_auth(instance.tenant)
    )

    assert_roma_error(response, HTTPStatus.NOT_FOUND, "ROMA.00110006")
    assert reload(job).status == state


def test_a_package_lost_from_storage_is_404_not_500(api_client, instance, x_auth):
    job = make_export_with_package(instance)
    default_storage.delete(job.archive.name)

    response = api_client.get(archive_url(job), **x_auth(instance.tenant))

    assert_roma_error(response, HTTPStatus.NOT_FOUND, "ROMA.00110006")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_downloads_give_the_file_to_exactly_one(
    seeded_roles, make_member, make_token
):
    tenant = TenantFactory()
    content = make_zip()
    jobs = [make_export_with_package(InstanceFactory(tenant=tenant), content) for _ in range(3)]
    key = make_token(make_member(tenant, "read-only"), tenant)

    for job in jobs:
        url, stored_name = archive_url(job), job.archive.name

        def fetch(url=url):
            response = APIClient().get(url, HTTP_X_AUTH_TOKEN=key)
            body = download(response) if response.status_code == HTTPStatus.OK else None
            return response.status_code, body

        results = run_together(fetch, fetch)

        assert sorted(status for status, _ in results) == [HTTPStatus.OK, HTTPStatus.NOT_FOUND]
        assert [body for status, body in results if status == HTTPStatus.OK] == [content]
        stored = reload(job)
        assert (stored.status, stored.archive_id) == (State.FINISHED, None)
        assert not default_storage.exists(stored_name)
