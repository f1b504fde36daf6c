"""ROMA asset jobs as the shared job tests drive them (see tests/jobs/drivers.py)."""

from http import HTTPStatus

from django.utils import timezone

from asset_jobs import services
from asset_jobs.models import AssetJob, Instance
from tests.asset_jobs.factories import REASON, InstanceFactory, make_zip
from tests.asset_jobs.handlers import HANDLERS
from tests.jobs.drivers import FamilyDriver


def claimed(job: AssetJob) -> None:
    services.asset_job_succeed(job, archive=make_zip())
    services.asset_archive_claim(job=job).file.close()


class AssetJobDriver(FamilyDriver):
    name = "asset_jobs"
    error_key = "error_code"
    finishing_report = {"status": "Failed", "reasons": [REASON]}
    refinish_with = {"reasons": [{**REASON, "resource_name": "otherApp"}]}
    poll_header = "X-Auth-Token"
    first_poll_queries = 3  # the token, the job and its reasons
    other_tenants_job_status = HTTPStatus.FORBIDDEN
    admin_indexes = ("asset_job_admin_begin", "asset_job_admin_status_begin")
    tracked_tag = AssetJob.Type.IMPORT

    def make(self, tenant, **fields) -> AssetJob:
        instance = InstanceFactory(tenant=tenant)
        job = services.asset_job_create(instance=instance, type=AssetJob.Type.EXPORT, **fields)
        job.tenant = tenant  # so building its URL runs no query
        return job

    def build(self, tenant, state: str) -> AssetJob:
        instance, _ = Instance.objects.across_tenants().get_or_create(
            tenant=tenant, instance_id=f"roma-{tenant.slug}", defaults={"name": "ROMA"}
        )
        ended = None if state == AssetJob.State.RUNNING else timezone.now()
        return AssetJob(tenant=tenant, instance=instance, type=AssetJob.Type.IMPORT,
                        status=state, end_time=ended, progress_percent=0.5)  # fmt: skip

    def tracked_fields(self, tenant) -> dict:
        instance, _ = Instance.objects.across_tenants().get_or_create(
            tenant=tenant, instance_id=f"roma-{tenant.slug}", defaults={"name": "ROMA"}
        )
        return {"instance": instance}

    def search_for(self, job: AssetJob) -> str:
        return job.pk

    def poll_path(self, job: AssetJob) -> str:
        project, instance = job.tenant.project_id, job.instance.instance_id
        return f"/v2/{project}/instances/{instance}/assets/jobs/{job.pk}"

    def body_endpoints(self, job: AssetJob) -> dict:
        path = self.poll_path(job)
        assets = path.split("/jobs/")[0]
        selection = {"apps": [{"id": "app-1"}], "tasks": [{"id": "task-1"}]}
        return {
            "create": ("POST", f"{assets}/jobs", {"type": "exportAsset"}),
            "update": (
                "PUT",
                path,
                {"progress_percent": 0.5, "status": "Failed", "reasons": [REASON]},
            ),
            "export": ("POST", f"{assets}/export", selection),
            "delete": ("POST", f"{assets}/delete", selection),
            "settings": ("PUT", f"{assets}/settings", {"status_spelling": "classic"}),
        }

    def serve_bodies(self, settings) -> None:
        settings.JOBDESK_ASSET_JOB_HANDLERS = dict(HANDLERS)

    def writes(self) -> dict:
        return {
            "update": lambda job: services.asset_job_update(job, progress_percent=0.5),
            "succeed": lambda job: services.asset_job_succeed(job, archive=make_zip()),
            "fail": lambda job: services.asset_job_fail(job, reasons=[REASON]),
            "cancel": lambda job: services.asset_job_cancel(job, actor=None),
            "download": claimed,
        }

    def finish(self, job: AssetJob) -> None:
        services.asset_job_fail(job, reasons=[REASON, REASON])

    def with_child_rows(self, job: AssetJob) -> None:
        services.asset_job_fail(job, reasons=[REASON, REASON])


driver = AssetJobDriver()
