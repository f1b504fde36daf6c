"""`reap_stuck_jobs` fails jobs whose worker was lost; `purge_finished_jobs` forgets old ones."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from asset_jobs.models import AssetJob, AssetJobReason
from async_status.models import AsyncStatus
from progress.models import Progress
from tenancy.models import IdempotencyKey
from tests.asset_jobs.factories import InstanceFactory, make_job, make_zip
from tests.async_status.factories import make_async_status
from tests.progress.factories import make_progress

pytestmark = pytest.mark.django_db


def run(command: str, *args: str) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def ago(**delta):
    return timezone.now() - timedelta(**delta)


def age(model, job, **fields) -> None:
    """Set timestamps directly: time passing is not a service operation."""
    model.objects.across_tenants().filter(pk=job.pk).update(**fields)


def reload(model, job):
    return model.objects.across_tenants().get(pk=job.pk)


def test_the_reaper_fails_running_jobs_without_a_recent_heartbeat(tenant, settings):
    settings.JOBDESK_STUCK_JOB_TIMEOUT = 600
    stuck = make_progress(tenant, "running")
    alive = make_progress(tenant, "running")
    age(Progress, stuck, heartbeat_at=ago(minutes=11))
    age(Progress, alive, heartbeat_at=ago(minutes=9))

    output = run("reap_stuck_jobs")

    job = reload(Progress, stuck)
    assert job.workflow_state == "failed"
    assert job.message == ("The worker running this job was lost: no sign of life for 600 seconds.")
    assert reload(Progress, alive).workflow_state == "running"
    assert f"progress job {stuck.pk}:" in output
    assert f"progress job {alive.pk}:" not in output


def test_the_reaper_uses_the_timeout_of_the_jobs_tag(tenant, settings):
    settings.JOBDESK_STUCK_JOB_TIMEOUT = 600
    settings.JOBDESK_STUCK_JOB_TIMEOUTS = {"progress": {"slow_export": 3600}}
    slow = make_progress(tenant, "running", tag="slow_export")
    age(Progress, slow, heartbeat_at=ago(minutes=30))

    run("reap_stuck_jobs")

    assert reload(Progress, slow).workflow_state == "running"


def test_the_reaper_leaves_queued_waiting_and_finished_jobs_alone(tenant):
    jobs = [make_progress(tenant, state) for state in ("queued", "completed")]
    jobs.append(make_progress(tenant, "waiting_for_external_tool"))
    for job in jobs:
        age(Progress, job, heartbeat_at=ago(days=2), updated_at=ago(days=2))
    before = [reload(Progress, job).workflow_state for job in jobs]

    run("reap_stuck_jobs")

    assert [reload(Progress, job).workflow_state for job in jobs] == before


def test_the_reaper_fails_stuck_async_statuses_and_asset_jobs(tenant):
    status = make_async_status(tenant)
    age(AsyncStatus, status, start_time=ago(hours=1))
    asset = make_job(InstanceFactory(tenant=tenant, instance_id="roma-1"))
    age(AssetJob, asset, begin_time=ago(hours=1))

    run("reap_stuck_jobs")

    assert reload(AsyncStatus, status).status == "FAILED"
    assert "worker running this job was lost" in reload(AsyncStatus, status).message
    assert reload(AssetJob, asset).status == "Failed"
    assert AssetJobReason.objects.get(job_id=asset.pk).error_code == "ROMA.JOBDESK.FAILED"


def test_a_dry_run_of_the_reaper_changes_nothing(tenant):
    stuck = make_progress(tenant, "running")
    age(Progress, stuck, heartbeat_at=ago(days=1))

    output = run("reap_stuck_jobs", "--dry-run")

    assert "Would fail" in output
    assert reload(Progress, stuck).workflow_state == "running"


def test_purge_deletes_old_finished_jobs_only(tenant, settings):
    settings.JOBDESK_RETENTION_DAYS = {"progress": 30, "async_status": 30, "asset_jobs": 30}
    old_done = [make_progress(tenant, "completed") for _ in range(5)]
    for job in old_done:
        age(Progress, job, updated_at=ago(days=31))
    recent_done = make_progress(tenant, "failed")
    old_running = make_progress(tenant, "running")
    age(Progress, old_running, updated_at=ago(days=90))

    output = run("purge_finished_jobs", "--batch-size", "2")

    remaining = set(Progress.objects.for_tenant(tenant).values_list("pk", flat=True))
    assert remaining == {recent_done.pk, old_running.pk}
    assert "Deleted 5 progress jobs" in output


def test_purge_deletes_old_asset_jobs_with_their_reasons_and_packages(tenant):
    instance = InstanceFactory(tenant=tenant, instance_id="roma-1")
    export = make_job(instance, "Success", type="exportAsset", archive=make_zip())
    failed = make_job(instance, "Failed")
    stored = reload(AssetJob, export).archive.name
    for job in (export, failed):
        age(AssetJob, job, end_time=ago(days=45))

    run("purge_finished_jobs")

    assert not AssetJob.objects.for_tenant(tenant).exists()
    assert not AssetJobReason.objects.exists()
    assert not default_storage.exists(stored)


def test_a_dry_run_of_the_purge_deletes_nothing(tenant):
    job = make_progress(tenant, "completed")
    age(Progress, job, updated_at=ago(days=400))

    output = run("purge_finished_jobs", "--dry-run")

    assert "Would delete 1 progress jobs" in output
    assert Progress.objects.for_tenant(tenant).count() == 1


def test_purge_forgets_expired_idempotency_keys(tenant, settings):
    IdempotencyKey.objects.create(
        tenant=tenant, family="progress", key="old", fingerprint="x", job_id="1"
    )
    IdempotencyKey.objects.filter(key="old").update(created_at=ago(days=2))
    IdempotencyKey.objects.create(
        tenant=tenant, family="progress", key="new", fingerprint="x", job_id="2"
    )

    run("purge_finished_jobs")

    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
