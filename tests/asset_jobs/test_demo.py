import io
import json
import re
import zipfile
from http import HTTPStatus
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from asset_jobs.demo import DEMO_INSTANCE_ID
from asset_jobs.models import AssetJob, Instance
from asset_jobs.tasks import DEMO_HANDLERS
from tenancy.models import Tenant
from tests.asset_jobs.factories import InstanceFactory, make_zip

pytestmark = pytest.mark.django_db

State = AssetJob.State


def run_demo() -> str:
    out = StringIO()
    call_command("demo", stdout=out)
    return out.getvalue()


def curl_url(output: str, marker: str) -> tuple[str, str]:
    """Return the key and path of the printed curl line containing `marker`."""
    line = next(line for line in output.splitlines() if "curl" in line and marker in line)
    key = line.split("X-Auth-Token: ")[1].split('"')[0]
    url = next(word for word in line.split() if word.startswith("http"))
    return key, "/" + url.split("/", 3)[3]


def test_demo_makes_jobs_in_every_state_per_tenant_and_is_idempotent(settings):
    settings.DEBUG = True
    run_demo()
    counts = AssetJob.objects.across_tenants().count()
    run_demo()

    assert AssetJob.objects.across_tenants().count() == counts
    for tenant in Tenant.objects.filter(slug__in=["acme", "globex"]):
        assert Instance.objects.for_tenant(tenant).filter(instance_id=DEMO_INSTANCE_ID).exists()
        states = set(AssetJob.objects.for_tenant(tenant).values_list("status", flat=True))
        assert states == set(State.values)
        assert AssetJob.objects.for_tenant(tenant).downloadable().count() == 1


def test_demo_curl_line_reads_the_export_and_downloads_its_zip(settings, client):
    settings.DEBUG = True
    output = run_demo()

    key, job_path = curl_url(output, "/jobs/")
    _, archive_path = curl_url(output, "/archives/")
    job = client.get(job_path, HTTP_X_AUTH_TOKEN=key)
    package = client.get(archive_path, HTTP_X_AUTH_TOKEN=key)

    assert job.status_code == HTTPStatus.OK
    assert job.json()["status"] == "Success"
    assert package.status_code == HTTPStatus.OK
    assert b"".join(package.streaming_content).startswith(b"PK")


def test_rerunning_the_demo_after_a_download_makes_a_fresh_package(settings, client):
    settings.DEBUG = True
    key, archive_path = curl_url(run_demo(), "/archives/")
    client.get(archive_path, HTTP_X_AUTH_TOKEN=key)

    _, fresh_path = curl_url(run_demo(), "/archives/")

    assert fresh_path != archive_path
    assert client.get(fresh_path, HTTP_X_AUTH_TOKEN=key).status_code == HTTPStatus.OK


def test_make_run_configures_the_demo_handlers():
    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    line = re.search(r"^DEMO_ASSET_JOB_HANDLERS := (.*)$", makefile, re.MULTILINE)

    assert json.loads(line.group(1)) == DEMO_HANDLERS


def test_the_demo_handlers_export_import_and_delete(
    settings,
    monkeypatch,
    tenant,
    make_member,
    x_auth,
    api_client,
    django_capture_on_commit_callbacks,
):
    settings.JOBDESK_ASSET_JOB_HANDLERS = DEMO_HANDLERS
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    monkeypatch.setattr("asset_jobs.tasks.STEP_SECONDS", 0)
    instance = InstanceFactory(tenant=tenant, instance_id="demo-1")
    writer = x_auth(tenant, "admin")
    base = f"/v2/{tenant.project_id}/instances/demo-1/assets"
    selection = json.dumps({"apps": [{"id": "myApp"}], "tasks": [{"id": "nightly"}]})
    package = io.BytesIO(make_zip())
    package.name = "assets.zip"

    with django_capture_on_commit_callbacks(execute=True):
        export = api_client.post(
            f"{base}/export", selection, content_type="application/json", **writer
        )
    with django_capture_on_commit_callbacks(execute=True):
        imported = api_client.post(
            f"{base}/import", {"ImportAssetRequestBody": package}, format="multipart", **writer
        )
    with django_capture_on_commit_callbacks(execute=True):
        deleted = api_client.post(
            f"{base}/delete", selection, content_type="application/json", **writer
        )

    jobs = AssetJob.objects.for_tenant(tenant).filter(instance=instance)
    assert {job.type: job.status for job in jobs} == {
        "exportAsset": "Success",
        "importAsset": "Success",
        "deleteAsset": "Success",
    }
    exported = jobs.get(pk=export.json()["job_id"])
    with exported.archive.open() as stored:
        names = zipfile.ZipFile(stored).namelist()
    assert names == ["manifest.json", "apps/myApp.json", "tasks/nightly.json"]
    assert imported.status_code == deleted.status_code == HTTPStatus.OK
