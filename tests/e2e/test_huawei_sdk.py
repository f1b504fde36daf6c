"""The Huawei Cloud SDK, unmodified, against a live jobdesk: AK/SK signing and ROMA asset jobs.

`huaweicloudsdkroma`'s `RomaClient` with `BasicCredentials(ak, sk, project_id)` signs every
request (SDK-HMAC-SHA256) and never sends X-Auth-Token. It starts jobs with ExportAsset,
ImportAsset and DeleteAsset, polls them with CheckAssetJobStatus and downloads an export's
package once with DownloadAssetArchive, in either status spelling; and each refusal reaches
it as ROMA's error, with the request id from `X-Request-Id`.
"""

import io
import zipfile
from datetime import UTC, datetime, timedelta
from http import HTTPStatus

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ServiceResponseException
from huaweicloudsdkcore.http.formdata import FormFile
from huaweicloudsdkroma.v2 import (
    AssetExportRequest,
    AssetExportRequestApps,
    AssetExportRequestTasks,
    AssetOperateRequest,
    CheckAssetJobStatusRequest,
    DeleteAssetRequest,
    DownloadAssetArchiveRequest,
    ExportAssetRequest,
    ImportAssetRequest,
    ImportAssetRequestBody,
    RomaClient,
)

from asset_jobs.models import AssetJob, Instance
from asset_jobs.services import asset_job_create
from tenancy.models import AccessKey
from tenancy.services import access_key_revoke
from tests.asset_jobs.factories import InstanceFactory, make_zip
from tests.asset_jobs.handlers import HANDLERS

pytestmark = pytest.mark.e2e

INSTANCE_ID = "roma-sdk-1"
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
# What each spelling calls a running, a successful and a downloaded export.
SPELLINGS = {
    Instance.StatusSpelling.CLASSIC: ("Running", "Success", "Finished"),
    Instance.StatusSpelling.CURRENT: ("RUNNING", "SUCCEEDED", "SUCCEEDED"),
}


@pytest.fixture(autouse=True)
def handlers_run_at_once(settings):
    """The tests' handlers, run as soon as the request that started them commits."""
    settings.JOBDESK_ASSET_JOB_HANDLERS = dict(HANDLERS)
    settings.TASKS = IMMEDIATE


@pytest.fixture(params=list(SPELLINGS))
def spelling(request) -> str:
    return request.param


@pytest.fixture
def instance(tenant, spelling) -> Instance:
    return InstanceFactory(tenant=tenant, instance_id=INSTANCE_ID, status_spelling=spelling)


@pytest.fixture
def pair(make_member, make_access_key, tenant) -> tuple[str, str]:
    return make_access_key(make_member(tenant, "admin"), tenant)


@pytest.fixture
def roma(live_server, pair, tenant):
    """Return a function making the SDK's client (the tenant's project and key by default)."""

    clients = []

    def make(ak=None, sk=None, project_id=None) -> RomaClient:
        credentials = BasicCredentials(
            ak or pair[0], sk or pair[1], project_id or tenant.project_id
        )
        client = (
            RomaClient.new_builder()
            .with_credentials(credentials)
            .with_endpoints([live_server.url])
            .build()
        )
        clients.append(client)
        return client

    yield make
    # Close kept-alive connections while the live server still serves this test.
    for client in clients:
        client.close()


def selection(cls):
    return cls(apps=[AssetExportRequestApps(id="myApp")], tasks=[AssetExportRequestTasks(id="t1")])


def status_of(client: RomaClient, job_id: str):
    return client.check_asset_job_status(
        CheckAssetJobStatusRequest(instance_id=INSTANCE_ID, job_id=job_id)
    )


def test_the_sdk_exports_polls_downloads_once_and_sees_the_export_finish(roma, instance, spelling):
    _, succeeded, downloaded = SPELLINGS[spelling]
    client = roma()

    started = client.export_asset(
        ExportAssetRequest(instance_id=INSTANCE_ID, body=selection(AssetExportRequest))
    )
    ready = status_of(client, started.job_id)
    download = client.download_asset_archive(
        DownloadAssetArchiveRequest(instance_id=INSTANCE_ID, archive_id=ready.archive_id)
    )
    package = []
    download.consume_download_stream(lambda stream: package.append(stream.content))
    done = status_of(client, started.job_id)

    assert started.status_code == HTTPStatus.OK
    assert (ready.type, ready.status, ready.progress_percent) == ("exportAsset", succeeded, 1.0)
    manifest = zipfile.ZipFile(io.BytesIO(package[0])).read("manifest.json")
    assert manifest == b'{"apps": ["myApp"], "tasks": ["t1"]}'
    assert (done.status, done.archive_id) == (downloaded, None)


def test_the_sdk_imports_a_zip_and_sees_the_import_succeed(roma, instance, spelling, tmp_path):
    client = roma()
    path = tmp_path / "assets.zip"
    path.write_bytes(make_zip({"apps/myApp.json": "{}"}))

    with path.open("rb") as package:
        started = client.import_asset(
            ImportAssetRequest(
                instance_id=INSTANCE_ID,
                body=ImportAssetRequestBody(import_asset_request_body=FormFile(package)),
            )
        )

    job = status_of(client, started.job_id)
    assert (job.type, job.status) == ("importAsset", SPELLINGS[spelling][1])
    stored = AssetJob.objects.for_tenant(instance.tenant).get(pk=started.job_id)
    assert stored.upload.name


def test_the_sdk_deletes_assets_and_polls_the_job(roma, instance, spelling):
    client = roma()

    started = client.delete_asset(
        DeleteAssetRequest(instance_id=INSTANCE_ID, body=selection(AssetOperateRequest))
    )

    job = status_of(client, started.job_id)
    assert (job.type, job.status) == ("deleteAsset", SPELLINGS[spelling][1])


def test_the_sdk_polls_a_running_job_in_the_instances_spelling(roma, instance, spelling):
    job = asset_job_create(instance=instance, type=AssetJob.Type.EXPORT)

    assert status_of(roma(), job.pk).status == SPELLINGS[spelling][0]


def refusal(call) -> ServiceResponseException:
    with pytest.raises(ServiceResponseException) as refused:
        call()
    return refused.value


@pytest.fixture
def running(instance) -> AssetJob:
    return asset_job_create(instance=instance, type=AssetJob.Type.IMPORT)


@pytest.mark.parametrize("spelling", [Instance.StatusSpelling.CLASSIC], indirect=True)
def test_the_sdk_with_a_wrong_secret_gets_romas_401(roma, running, pair):
    error = refusal(lambda: status_of(roma(sk=pair[1][::-1]), running.pk))

    assert (error.status_code, error.error_code) == (HTTPStatus.UNAUTHORIZED, "APIGW.0301")
    assert error.error_msg == "Incorrect IAM authentication information."
    assert len(error.request_id) == 32


@pytest.mark.parametrize("spelling", [Instance.StatusSpelling.CLASSIC], indirect=True)
def test_the_sdk_with_a_revoked_key_gets_romas_401(roma, running, pair):
    client = roma()
    assert status_of(client, running.pk).status == "Running"
    access_key_revoke(access_key=AccessKey.objects.get(access_key_id=pair[0]))

    error = refusal(lambda: status_of(client, running.pk))

    assert (error.status_code, error.error_code) == (HTTPStatus.UNAUTHORIZED, "APIGW.0301")


@pytest.mark.parametrize("spelling", [Instance.StatusSpelling.CLASSIC], indirect=True)
def test_the_sdk_with_a_stale_date_gets_romas_401(roma, running):
    stale = (datetime.now(UTC) - timedelta(minutes=20)).strftime("%Y%m%dT%H%M%SZ")
    request = CheckAssetJobStatusRequest(instance_id=INSTANCE_ID, job_id=running.pk)
    invoker = roma().check_asset_job_status_invoker(request).add_header("X-Sdk-Date", stale)

    error = refusal(invoker.invoke)

    assert (error.status_code, error.error_code) == (HTTPStatus.UNAUTHORIZED, "APIGW.0301")


@pytest.mark.parametrize("spelling", [Instance.StatusSpelling.CLASSIC], indirect=True)
def test_the_sdk_on_another_tenants_project_gets_romas_403_and_changes_nothing(
    roma, running, other_tenant
):
    theirs = asset_job_create(
        instance=InstanceFactory(tenant=other_tenant, instance_id=INSTANCE_ID),
        type=AssetJob.Type.EXPORT,
    )
    client = roma(project_id=other_tenant.project_id)

    polled = refusal(lambda: status_of(client, theirs.pk))
    exported = refusal(
        lambda: client.export_asset(
            ExportAssetRequest(instance_id=INSTANCE_ID, body=selection(AssetExportRequest))
        )
    )

    assert (polled.status_code, polled.error_code) == (HTTPStatus.FORBIDDEN, "ROMA.1006")
    assert (exported.status_code, exported.error_code) == (HTTPStatus.FORBIDDEN, "ROMA.1006")
    assert AssetJob.objects.for_tenant(other_tenant).count() == 1
