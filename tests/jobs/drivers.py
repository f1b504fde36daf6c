"""How the shared job tests drive each registered job family.

The tests in `tests/jobs/` run against every family in the registry (`jobs.registry.families`).
What they cannot learn from a family's declaration — how to make a job in a state, where a
client polls it, which writes change its wire body — each family's own test package says in
its `driver.py`, as a `FamilyDriver` named `driver`. A registered family without one fails
the collection, so a new family is covered by the shared tests as soon as it is installed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache
from http import HTTPStatus
from importlib import import_module
from typing import Any

from django.db.models import Model
from django.urls import reverse
from django.utils import timezone

from jobs.family import JobFamily
from jobs.registry import families


class FamilyDriver:
    """One family as the shared tests see it; subclasses fill in what is the family's own."""

    name: str
    poll_header = "Authorization"
    # Queries of a first poll with nothing cached: the token, the job (and its child rows).
    first_poll_queries = 2
    # A word the admin's search finds in the jobs `build` makes.
    search_term = ""
    # The admin's indexes: newest first across tenants, and one state newest first.
    admin_indexes: tuple[str, str]
    # What polling another tenant's job answers (ROMA: 403, for a project not the token's).
    other_tenants_job_status = HTTPStatus.NOT_FOUND
    # The body names the request's host (Canvas' absolute `url`).
    body_names_the_host = False
    # The read honours `Accept` (Traffic Ops always answers JSON).
    negotiates_accept = True
    # The key every error body of the family has (its envelope's).
    error_key: str
    # `Accept` headers (None: none sent) whose cached answer must be the uncached one.
    accepts: tuple[str | None, ...] = (None, "*/*", "application/json")
    # What a body over the limit and a chunked body get (Google's APIs: 400 for both).
    body_too_large_status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    length_required_status = HTTPStatus.LENGTH_REQUIRED
    # A body of the `update` endpoint of `body_endpoints` finishing a running job, and fields
    # that, changed in it, would finish the job again with other data.
    finishing_report: dict[str, Any]
    refinish_with: dict[str, Any]
    # Endpoints of `body_endpoints` that do not change a job (a login, a read sent as POST).
    body_reads: tuple[str, ...] = ()
    # The tag of the family's sample tracked tasks (tests/jobs/tasks/sample_tasks.py).
    tracked_tag = "explode"

    @property
    def family(self) -> JobFamily:
        return families[self.name]

    @property
    def model(self) -> type[Model]:
        return self.family.model

    @property
    def state_field(self) -> str:
        return self.family.state_field

    @property
    def started_field(self) -> str:
        return self.family.started_field

    @property
    def running(self) -> str:
        return (self.family.running_states or self.family.pending_states)[0]

    @property
    def succeeded(self) -> str:
        return self.family.succeeded_states[0]

    @property
    def failed(self) -> str:
        return self.family.failed_states[0]

    @property
    def cancelled(self) -> str:
        """The state an operator's cancel leaves a pending job in (Canvas, Traffic Ops: failed)."""
        return self.failed

    # -- The family's own --

    def make(self, tenant, **fields: Any) -> Model:
        """Return a new pending job of `tenant`, made through the family's services."""
        raise NotImplementedError

    def build(self, tenant, state: str) -> Model:
        """Return an unsaved job of `tenant` in `state`, for inserting many at once."""
        raise NotImplementedError

    def poll_path(self, job: Model) -> str:
        """Return the URL a client polls `job` at."""
        raise NotImplementedError

    def writes(self) -> dict[str, Callable[[Model], Any]]:
        """Return every write service that changes a pending job's wire body, by name."""
        raise NotImplementedError

    def serve_bodies(self, settings) -> None:
        """Configure what the endpoints of `body_endpoints` need to read their bodies."""

    def finish(self, job: Model) -> None:
        """Finish a pending job through a service."""
        raise NotImplementedError

    def with_child_rows(self, job: Model) -> None:
        """Give `job` the child rows its wire body reads, if the family has any."""

    def search_for(self, job: Model) -> str:
        """Return what the admin's search finds `job` by."""
        return self.search_term

    def tracked_fields(self, tenant) -> dict[str, Any]:
        """Return the `job=` fields `enqueue_tracked` needs for a job of `tenant`."""
        return {}

    def body_endpoints(self, job: Model) -> dict[str, tuple[str, str, dict]]:
        """Return every endpoint that reads a JSON body, by name: (method, path, a valid body).

        The paths address the pending `job` (or its tenant, for a create); an admin's token
        may call each of them.
        """
        raise NotImplementedError

    # -- Generic --

    def insert(
        self, tenant, state: str | None = None, count: int = 1, started: datetime | None = None
    ):
        """Insert `count` jobs of `tenant` in `state` (running by default), oldest first."""
        rows = self.model.objects.bulk_create(
            [self.build(tenant, state or self.running) for _ in range(count)], batch_size=500
        )
        if started is not None:
            pks = [row.pk for row in rows]
            self.family.jobs().filter(pk__in=pks).update(**{self.started_field: started})
        return rows[0] if count == 1 else rows

    def headers(self, raw_key: str) -> dict[str, str]:
        if self.poll_header == "X-Auth-Token":
            return {"HTTP_X_AUTH_TOKEN": raw_key}
        return {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"}

    def url(self, view: str, job: Model | None = None) -> str:
        """Return the admin URL `view` ("changelist", "change", "cancel", ...) of the jobs."""
        opts = self.model._meta
        args = [] if job is None else [job.pk]
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)

    def reload(self, job: Model) -> Model:
        return self.family.jobs().get(pk=job.pk)

    def state_of(self, job: Model) -> str:
        return self.family.state_of(self.reload(job))

    def purge(self, job: Model) -> int:
        return self.family.purge([str(job.pk)])

    def __repr__(self) -> str:
        return f"<FamilyDriver {self.name}>"


@cache
def drivers() -> list[FamilyDriver]:
    """Return the driver of every registered family, in registry order."""
    found = []
    for family in families:
        package = f"tests.{family.model._meta.app_config.name}.driver"
        try:
            module = import_module(package)
        except ModuleNotFoundError as error:
            raise LookupError(
                f"Job family {family.name!r} has no test driver: write {package} "
                "(see tests/jobs/drivers.py)."
            ) from error
        found.append(module.driver)
    return found


def driver(name: str) -> FamilyDriver:
    """Return the driver of the family called `name`."""
    return next(found for found in drivers() if found.name == name)


def read_permissions() -> list[str]:
    """Return every family's READ permission."""
    return [family.read_permission for family in families]


def operate_permissions() -> list[str]:
    """Return every family's READ and CANCEL permissions."""
    return [*read_permissions(), *(family.cancel_permission for family in families)]


def long_ago() -> datetime:
    """Return a start time well past the admin's stuck threshold."""
    return timezone.now() - timedelta(hours=3)
