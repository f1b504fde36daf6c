"""URLs of the ROMA asset job endpoints and checks of the ROMA error envelope, for tests."""

import re
from http import HTTPStatus

ENVELOPE_KEYS = ["error_code", "error_msg", "error_details", "request_id"]
REQUEST_ID = re.compile(r"[0-9a-f]{32}")


def assert_roma_error(response, status: HTTPStatus, error_code: str, error_msg: str | None = None):
    """Assert a ROMA error envelope with `status` and `error_code`, and a matching request id."""
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert list(body) == ENVELOPE_KEYS
    assert body["error_code"] == error_code
    if error_msg is not None:
        assert body["error_msg"] == error_msg
    assert 1 <= len(body["error_details"]) <= 128
    assert REQUEST_ID.fullmatch(body["request_id"])
    assert response["X-Request-Id"] == body["request_id"]
    return body


def job_url(job, *, project_id=None, instance_id=None, job_id=None) -> str:
    """Return the CheckAssetJobStatus URL of `job`, with any part replaced."""
    project_id = job.tenant.project_id if project_id is None else project_id
    instance_id = job.instance.instance_id if instance_id is None else instance_id
    job_id = job.pk if job_id is None else job_id
    return f"/v2/{project_id}/instances/{instance_id}/assets/jobs/{job_id}"


def archive_url(job, *, archive_id=None, project_id=None, instance_id=None) -> str:
    """Return the DownloadAssetArchive URL of `job`'s package, with any part replaced."""
    project_id = job.tenant.project_id if project_id is None else project_id
    instance_id = job.instance.instance_id if instance_id is None else instance_id
    archive_id = job.archive_id if archive_id is None else archive_id
    return f"/v2/{project_id}/instances/{instance_id}/assets/archives/{archive_id}"


def list_url(instance, *, project_id=None, instance_id=None) -> str:
    """Return the job list URL of `instance`."""
    project_id = project_id or instance.tenant.project_id
    return f"/v2/{project_id}/instances/{instance_id or instance.instance_id}/assets/jobs"
