"""System checks of the registered job families: a wrong declaration stops start-up."""

from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.core.exceptions import FieldDoesNotExist

from jobs.models import TrackedJob
from jobs.registry import families
from tenancy.models import TenantOwnedManager


def check_families(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Check every family's model, fields and states, and the per-family settings."""
    errors = []
    for family in families:
        errors += check_model(family)
        errors += check_states(family)
    errors += check_settings()
    return errors


def check_model(family) -> list[checks.CheckMessage]:
    model = family.model
    errors = []
    if not issubclass(model, TrackedJob):
        errors.append(
            checks.Error(
                f"The job model of family {family.name!r} must extend jobs.models.TrackedJob.",
                obj=model,
                id="jobs.E001",
            )
        )
    # The fail-closed guarantee: the default path returns no rows until scoped to tenants.
    if not isinstance(model._default_manager, TenantOwnedManager):
        errors.append(
            checks.Error(
                f"{model.__name__}'s default manager is not a TenantOwnedManager, so unscoped "
                "queries would return every tenant's jobs.",
                hint="Use jobs.models.JobManager, or a manager made with "
                "JobManager.from_queryset(...).",
                obj=model,
                id="jobs.E002",
            )
        )
    for attribute in (
        "state_field",
        "started_field",
        "ended_field",
        "kind_field",
        "progress_field",
    ):
        name = getattr(family, attribute)
        if name is None:
            continue
        try:
            model._meta.get_field(name)
        except FieldDoesNotExist:
            errors.append(
                checks.Error(
                    f"Family {family.name!r} names {attribute} {name!r}, which "
                    f"{model.__name__} does not have.",
                    obj=model,
                    id="jobs.E003",
                )
            )
    return errors


def check_states(family) -> list[checks.CheckMessage]:
    """Every state the model allows is in exactly one of the family's outcome groups."""
    try:
        field = family.model._meta.get_field(family.state_field)
    except FieldDoesNotExist:
        return []
    declared = [
        *family.pending_states,
        *family.succeeded_states,
        *family.failed_states,
        *family.cancelled_states,
    ]
    allowed = [value for value, _ in field.flatchoices]
    if sorted(declared) == sorted(allowed) and len(set(declared)) == len(declared):
        return []
    return [
        checks.Error(
            f"Family {family.name!r} must put each of {family.model.__name__}'s states "
            f"({', '.join(allowed)}) in exactly one of pending, succeeded, failed and cancelled.",
            obj=family.model,
            id="jobs.E004",
        )
    ]


def check_settings() -> list[checks.CheckMessage]:
    """Per-family settings name registered families."""
    errors = []
    for setting in ("JOBDESK_RETRY_AFTER", "JOBDESK_STUCK_JOB_TIMEOUTS", "JOBDESK_RETENTION_DAYS"):
        for name in getattr(settings, setting):
            if name not in families:
                errors.append(
                    checks.Error(
                        f"{setting} names {name!r}, which is not a job family "
                        f"(families: {', '.join(families.names())}).",
                        id="jobs.E005",
                    )
                )
    return errors
