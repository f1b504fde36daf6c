"""A job's wire body for a webhook: the bytes its family's read returns, with no request.

The body is rendered from the job's poll snapshot (read from the cache, or loaded once if it is
not cached) by the family's own read view, as an event stream does, for a request to
`JOBDESK_WEBHOOKS_BASE_URL`: absolute URLs in the body (a Canvas progress' `url`) name it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest
from rest_framework.request import Request

from jobs.events import read_view_class
from jobs.family import JobFamily
from jobs.snapshots import Snapshot


class BaseURLRequest(HttpRequest):
    """A GET to the configured base URL: what a family's read view needs of a request."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        parts = urlsplit(base_url)
        self.method = "GET"
        self.path = self.path_info = "/"
        self.base_scheme, self.base_host = parts.scheme or "https", parts.netloc

    def _get_scheme(self) -> str:
        return self.base_scheme

    def get_host(self) -> str:
        # The operator's own setting, not a client's Host header: nothing to validate.
        return self.base_host


def snapshot_of(family: JobFamily, job_id: str) -> Snapshot | None:
    """Return the job's current snapshot (loading and caching it on a miss); None if gone."""
    pk = family.model._meta.pk.to_python(job_id)
    snapshots = family.snapshots
    snapshot, found = snapshots.lookup(pk)
    if snapshot is not None:
        return snapshot
    snapshots.version_before_load(pk, found)
    job = family.wire_jobs().filter(pk=pk).first()
    if job is None:
        return None
    snapshot = snapshots.capture(job, found)
    snapshots.store(pk, snapshot)
    return snapshot


def wire_body(family: JobFamily, snapshot: Snapshot) -> bytes:
    """Return the body the family's read would answer for `snapshot`."""
    view = read_view_class(family)()
    request = Request(BaseURLRequest(settings.JOBDESK_WEBHOOKS_BASE_URL))
    renderer = view.get_renderers()[0]
    return renderer.render(view.poll_data(snapshot, request), renderer.media_type, {})
