"""jobdesk's own read-only API for any family's job: its timeline.

Order of checks, as in every family: authenticate (401), hold the family's READ permission in
some tenant (403), find the job among the tenants where it is held (404: another tenant's job
does not exist, and an unknown family or a malformed id names nothing either). Errors are
jobdesk's own `{"detail": ...}`, not a vendor's envelope.
"""

from __future__ import annotations

import re

from django.db.models import IntegerField
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs.api import PrivateResponsesMixin, parse_id
from jobs.family import JobFamily
from jobs.models import TrackedJob
from jobs.registry import families
from jobs.schema import timeline_schema
from jobs.serializers import TimelineSerializer
from jobs.timeline import events_of
from tenancy.access import principal_for

# Every family's ids are numbers or ROMA's 32 hex characters: anything else names no job.
JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# A job has about fifteen events; a timeline answers at most this many, oldest first.
TIMELINE_LIMIT = 1000


class JobTimelineView(PrivateResponsesMixin, APIView):
    """`GET /api/jobs/<family>/<job_id>/timeline`: a job's timeline, oldest event first."""

    permission_classes = [IsAuthenticated]

    @timeline_schema
    def get(self, request: Request, family: str, job_id: str) -> Response:
        jobs = family_named(family)
        principal = principal_for(request)
        if not principal.holds_anywhere(jobs.read_permission):
            raise PermissionDenied(f"Reading {jobs.title} needs {jobs.read_permission}.")
        job = visible_job(jobs, request, job_id)
        events = list(events_of(jobs, job)[:TIMELINE_LIMIT])
        body = {"family": jobs.name, "job_id": str(job.pk), "events": events}
        return Response(TimelineSerializer(body).data)


class UnknownPathView(PrivateResponsesMixin, APIView):
    """Any other path under /api/jobs/: jobdesk's JSON 404, never Django's HTML page."""

    permission_classes = []
    schema = None

    def get(self, request: Request, *args, **kwargs) -> Response:
        raise NotFound("No such endpoint.")


def family_named(name: str) -> JobFamily:
    """Return the family called `name`, or raise NotFound."""
    if name not in families:
        raise NotFound(f"No job family {name!r}; the families are {', '.join(families.names())}.")
    return families[name]


def visible_job(family: JobFamily, request: Request, raw_id: str) -> TrackedJob:
    """Return the job `raw_id` among the tenants where the request may read the family's jobs,
    or raise NotFound (a malformed id, a missing job and another tenant's job alike)."""
    not_found = NotFound(f"No {family.name} job {raw_id[:64]!r}.")
    pk: object = raw_id
    if isinstance(family.model._meta.pk, IntegerField):
        pk = parse_id(raw_id)
    if pk is None or not JOB_ID.fullmatch(raw_id):
        raise not_found
    jobs = family.model.objects.visible_to(principal_for(request), family.read_permission)
    job = jobs.filter(pk=pk).only("pk", "tenant").first()
    if job is None:
        raise not_found
    return job
