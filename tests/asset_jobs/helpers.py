"""URLs of the ROMA asset job endpoints, for tests."""


def job_url(job, *, project_id=None, instance_id=None, job_id=None) -> str:
    """Return the CheckAssetJobStatus URL of `job`, with any part replaced."""
    project_id = project_id or job.tenant.project_id
    instance_id = instance_id or job.instance.instance_id
    return f"/v2/{project_id}/instances/{instance_id}/assets/jobs/{job_id or job.pk}"


def archive_url(job, *, archive_id=None, project_id=None, instance_id=None) -> str:
    """Return the DownloadAssetArchive URL of `job`'s package, with any part replaced."""
    project_id = project_id or job.tenant.project_id
    instance_id = instance_id or job.instance.instance_id
    return (
        f"/v2/{project_id}/instances/{instance_id}/assets/archives/{archive_id or job.archive_id}"
    )


def list_url(instance, *, project_id=None, instance_id=None) -> str:
    """Return the job list URL of `instance`."""
    project_id = project_id or instance.tenant.project_id
    return f"/v2/{project_id}/instances/{instance_id or instance.instance_id}/assets/jobs"
