"""What a job family is, declared once: `JobFamily`.

A family app (Canvas progress, Traffic Ops async status, ...) subclasses `JobFamily` in its
`family.py`, states what differs — its model, states, fields, permissions, wire body — and
implements how a tracked task's events map onto its services (`create`, `start`, `report`,
`complete`, `fail`, `cancel`). Everything generic reads these declarations through the
registry (`jobs.registry.families`): poll snapshots, the admin kit and dashboard, tracked
tasks, the reaper, retention, OpenAPI tags, the demo and the shared tests.

Every method that writes goes through the family's services, which stay the only writers of
job rows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F, Value
from django.db.models.functions import Coalesce

from tenancy.models import Tenant

if TYPE_CHECKING:
    from rest_framework.serializers import BaseSerializer

    from jobs.models import JobQuerySet, TrackedJob
    from jobs.snapshots import JobSnapshots

# The reaper looks at this many overdue jobs per family and run.
STUCK_SCAN_LIMIT = 1000


def wire_data(serializer_class: type[BaseSerializer], job: TrackedJob) -> dict:
    """Return `serializer_class(job).data` as a dict, for a family's `describe`.

    A serializer builds its fields on every instance, and a ModelSerializer builds them from
    the model's fields: most of what serializing one job costs. One serializer per class,
    never bound to a job and with an empty context, builds them once; its `to_representation`
    only reads them, so every thread may share it. Only for a body that depends on the job
    alone (`describe` leaves the request's parts to the view).
    """
    return dict(unbound_serializer(serializer_class).to_representation(job))


@cache
def unbound_serializer(serializer_class: type[BaseSerializer]) -> BaseSerializer:
    return serializer_class(context={})


class JobFamily:
    """One family of jobs: its model, states, permissions and wire body, and its task events."""

    name: ClassVar[str]
    """Short, stable name: in settings, cache keys, idempotency keys, `family=` of tasks."""
    title: ClassVar[str]
    """What its jobs are called, e.g. "Canvas progress" (permission labels, the admin)."""
    description: ClassVar[str]
    """One sentence for the OpenAPI tag of its operations."""
    model: ClassVar[type[TrackedJob]]

    state_field: ClassVar[str]
    pending_states: ClassVar[tuple[str, ...]]
    succeeded_states: ClassVar[tuple[str, ...]] = ()
    failed_states: ClassVar[tuple[str, ...]] = ()
    cancelled_states: ClassVar[tuple[str, ...]] = ()
    running_states: ClassVar[tuple[str, ...] | None] = None
    """States in which a worker must keep showing signs of life (default: every pending one)."""
    started_field: ClassVar[str]
    """When the job started (its list order, the admin's duration, the reaper's fallback)."""
    ended_field: ClassVar[str | None] = None
    """When it finished; None: the last update of a finished job stands in."""
    kind_field: ClassVar[str | None] = None
    """What kind of job it is (a Canvas tag, a ROMA type): Retry-After and timeouts per kind."""
    message_field: ClassVar[str | None] = "message"
    """The field holding the message a change sets (the timeline keeps it), if any."""
    progress_field: ClassVar[str | None] = None
    """How far the job got (the timeline records each step of 10 %); None: not reported."""
    progress_full: ClassVar[float] = 100.0
    """The value of `progress_field` of a job that is all done (ROMA's fraction: 1.0)."""

    read_permission: ClassVar[str]
    cancel_permission: ClassVar[str]
    write_permission: ClassVar[str]
    token_scopes: ClassVar[frozenset[str]] = frozenset()
    """Scopes a token may carry besides permissions (e.g. Canvas' LTI scope)."""
    role_grants: ClassVar[dict[str, tuple[str, ...]] | None] = None
    """What the seeded roles hold of this family's permissions (see `jobs.roles`); by default
    `operations` reads and cancels, `read-only` reads."""

    unshown_fields: ClassVar[frozenset[str]] = frozenset({"heartbeat_at", "updated_at"})
    """Fields the wire body does not show: changing only these keeps the poll snapshot."""
    revision_fields: ClassVar[tuple[str, ...]] = ("updated_at", "user_id")
    """What tells whether a job's wire body may have changed since its snapshot was taken
    (`JobSnapshots.current`), as lookups from the job: its `updated_at`, which every change
    of its row sets (`jobs.transitions`, `auto_now`), its `user_id`, which a user's deletion
    nulls without it, and each field of another row that the body or the URL shows (a ROMA
    instance's status spelling and id, a Google project id)."""
    refused_message: ClassVar[str] = "Cannot {event} job {job_id}: it is {state}."
    """The text of a refused transition (`TransitionRefused`), as the family's API says it."""
    openapi_enums: ClassVar[dict[str, str]] = {}
    """OpenAPI names of enums besides its models' choices (drf-spectacular's
    ENUM_NAME_OVERRIDES); each choices field of the app's models is named after the model and
    the field, e.g. `ProgressWorkflowState`."""
    read_view: ClassVar[str] = ""
    """The dotted path of the view serving its job read (a `CachedPollMixin`): event streams
    check access, parse ids and render bodies with it. Empty: its jobs cannot be streamed."""
    retention_days: ClassVar[int | None] = 30
    """Days a finished job is kept (JOBDESK_RETENTION_DAYS overrides; None keeps them)."""

    def __repr__(self) -> str:
        return f"<JobFamily {self.name}>"

    @property
    def urls_module(self) -> str:
        """The dotted path of the family app's `urls.py`, which the site mounts at its root."""
        return f"{self.model._meta.app_config.name}.urls"

    # -- The wire body (every family) --

    def wire_jobs(self) -> JobQuerySet:
        """Return every tenant's jobs, loading what `describe` reads (related rows)."""
        return self.jobs()

    def revision(self, job: TrackedJob) -> tuple[Any, ...]:
        """Return the values of `revision_fields` of `job` (loaded by `wire_jobs`)."""
        return tuple(lookup_value(job, field) for field in self.revision_fields)

    def describe(self, job: TrackedJob) -> tuple[Any, Any]:
        """Return the job's wire body as its read returns it, and what its URL must match.

        The body leaves out anything that depends on the request (absolute URLs); the
        family's view adds it. The second value is compared by the family's views (e.g. the
        ROMA instance a job belongs to); None when only the id matters.
        """
        raise NotImplementedError

    # -- Tracked tasks: what each event means in the family's own services --

    def create(
        self, *, tenant: Tenant, tag: str, user: AbstractBaseUser | None, **fields: Any
    ) -> str:
        """Record a new job of kind `tag`; return its id."""
        raise NotImplementedError

    def start(self, job_id: str) -> bool:
        """Mark the job as picked up by a worker; False if it was cancelled or finished."""
        raise NotImplementedError

    def report(self, job_id: str, *, completion: float | None, message: str | None) -> bool:
        """Record progress (percent 0..100) and a heartbeat; False if no longer pending."""
        raise NotImplementedError

    def complete(self, job_id: str, *, results: Any) -> bool:
        """Finish the job successfully; False if it had already finished (e.g. cancelled)."""
        raise NotImplementedError

    def fail(self, job_id: str, *, message: str) -> bool:
        """Finish the job unsuccessfully; False if it had already finished."""
        raise NotImplementedError

    def cancel(self, job: TrackedJob, *, actor: AbstractBaseUser | None) -> bool:
        """Cancel a pending job as an operator; False if it had already finished.

        The service passes `event="cancel"` to its transition, so the timeline (and with it
        the admin's badges, counts and filters) tells the cancellation from a failure even
        where the wire state says failed.
        """
        raise NotImplementedError

    def rerun_fields(self, job: TrackedJob) -> dict[str, Any]:
        """Return what `create` needs, besides tenant, tag and user, to make a job like `job`.

        "Run again" in the admin makes the new job with these.
        """
        return {}

    # -- Generic behaviour, from the declarations above --

    def jobs(self) -> JobQuerySet:
        """Return every tenant's jobs: for services, the admin kit and maintenance only."""
        return self.model.objects.across_tenants()

    def state_of(self, job: TrackedJob) -> str:
        return getattr(job, self.state_field)

    def kind_of(self, job: TrackedJob) -> str | None:
        return getattr(job, self.kind_field) if self.kind_field else None

    def is_pending(self, job: TrackedJob) -> bool:
        return self.state_of(job) in self.pending_states

    def is_running_state(self, state: str) -> bool:
        """Tell whether a job in `state` has a worker that must show signs of life."""
        return state in (self.running_states or self.pending_states)

    def as_percent(self, value: float) -> float:
        """Return a value of `progress_field` as a percent."""
        return 100.0 * value / self.progress_full

    def percent_of(self, job: TrackedJob) -> float | None:
        """Return how far `job` got, in percent (None when the family or the job says nothing)."""
        if self.progress_field is None:
            return None
        value = getattr(job, self.progress_field)
        return None if value is None else self.as_percent(value)

    def outcome(self, state: str) -> str:
        """Return how `state` ended: pending, succeeded, failed, cancelled (or other)."""
        for outcome, states in (
            ("pending", self.pending_states),
            ("succeeded", self.succeeded_states),
            ("failed", self.failed_states),
            ("cancelled", self.cancelled_states),
        ):
            if state in states:
                return outcome
        return "other"

    def seeded_role_grants(self) -> dict[str, tuple[str, ...]]:
        """Return what the seeded roles hold of this family's permissions."""
        if self.role_grants is not None:
            return self.role_grants
        return {
            "operations": (self.read_permission, self.cancel_permission),
            "read-only": (self.read_permission,),
        }

    def permission_labels(self) -> dict[str, str]:
        """Return the family's permissions with the labels the role form shows."""
        # A family without a permission of its own to cancel names WRITE twice: the last wins.
        return {
            self.read_permission: f"Read {self.title}",
            self.cancel_permission: f"Cancel {self.title}",
            self.write_permission: f"Create and update {self.title}",
        }

    @cached_property
    def snapshots(self) -> JobSnapshots:
        """The cached poll snapshots of this family's jobs."""
        from jobs.snapshots import JobSnapshots

        return JobSnapshots(self)

    def retry_after(self, job: TrackedJob) -> int | None:
        """Return the seconds a client should wait before polling `job` again (None: finished)."""
        if not self.is_pending(job):
            return None
        by_kind = settings.JOBDESK_RETRY_AFTER.get(self.name, {})
        return by_kind.get(self.kind_of(job), settings.JOBDESK_RETRY_AFTER_SECONDS)

    def load(self, job_id: str) -> TrackedJob:
        """Return the job with id `job_id`, of any tenant."""
        return self.jobs().get(pk=self.model._meta.pk.to_python(job_id))

    def attempt(self, service: Callable[..., Any], job_id: str, **arguments: Any) -> bool:
        """Call a service on the job; False if its state refused the change or it is gone.

        A job can be gone while its task runs: a family whose clients may delete jobs (Google's
        DeleteOperation) deletes them whatever their state.
        """
        from jobs.transitions import TransitionRefused

        try:
            service(self.load(job_id), **arguments)
        except (TransitionRefused, self.model.DoesNotExist):
            return False
        return True

    def stuck_timeout(self, kind: str | None) -> timedelta:
        """Return how long a job of `kind` may go without a sign of life before it is reaped."""
        per_kind = settings.JOBDESK_STUCK_JOB_TIMEOUTS.get(self.name, {})
        return timedelta(seconds=per_kind.get(kind or "", settings.JOBDESK_STUCK_JOB_TIMEOUT))

    def stuck_jobs(self, *, now: datetime) -> list[tuple[str, str]]:
        """Return (job id, kind) of running jobs whose last sign of life is past their timeout."""
        per_kind = settings.JOBDESK_STUCK_JOB_TIMEOUTS.get(self.name, {})
        shortest = timedelta(seconds=min([settings.JOBDESK_STUCK_JOB_TIMEOUT, *per_kind.values()]))
        rows = (
            self.jobs()
            .in_states(self.running_states or self.pending_states)
            .annotate(
                last_sign=Coalesce("heartbeat_at", self.started_field),
                kind=F(self.kind_field) if self.kind_field else Value(""),
            )
            .filter(last_sign__lt=now - shortest)
            .values_list("pk", "kind", "last_sign")[:STUCK_SCAN_LIMIT]
        )
        return [(str(pk), kind) for pk, kind, last in rows if last < now - self.stuck_timeout(kind)]

    def retention(self) -> timedelta | None:
        """Return how long finished jobs are kept (None: for ever)."""
        days = settings.JOBDESK_RETENTION_DAYS.get(self.name, self.retention_days)
        return None if days is None else timedelta(days=days)

    def finished_before(self, cutoff: datetime, *, limit: int) -> list[str]:
        """Return up to `limit` ids of jobs that finished before `cutoff`, oldest id first."""
        ended = self.ended_field or "updated_at"
        rows = (
            self.jobs()
            .finished()
            .filter(**{f"{ended}__lt": cutoff})
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
        return [str(pk) for pk in rows]

    def purge(self, job_ids: list[str]) -> int:
        """Delete these jobs if they are finished (retention); return how many were deleted."""
        from jobs import watch

        pks = [self.model._meta.pk.to_python(pk) for pk in job_ids]
        doomed = self.jobs().finished().filter(pk__in=pks)
        rows = list(doomed.values_list("pk", "tenant_id"))
        deleted = (
            doomed.filter(pk__in=[pk for pk, _ in rows]).delete()[1].get(self.model._meta.label)
        )
        self.snapshots.changed(*pks)
        watch.jobs_gone(self, rows)
        return deleted or 0


def lookup_value(obj: Any, lookup: str) -> Any:
    """Return what the ORM lookup `lookup` ("instance__status_spelling") names from `obj`."""
    for name in lookup.split("__"):
        obj = getattr(obj, name)
    return obj
