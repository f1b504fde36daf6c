"""The job family registry: what every family declares, and the checks that guard it."""

import pytest
from django.core import checks
from django.db import models
from django.test.utils import isolate_apps

from jobs.checks import check_model, check_settings, check_states
from jobs.family import JobFamily
from jobs.models import JobManager, TrackedJob
from jobs.registry import FamilyRegistry, families
from tenancy.models import Role
from tenancy.permissions import all_permissions, catalogue
from tests.jobs.drivers import drivers
from webhooks import permissions as webhook_permissions


def test_every_installed_family_is_registered_in_app_order():
    assert families.names() == ["progress", "async_status", "asset_jobs", "lro"]


@pytest.mark.parametrize("family", list(families), ids=lambda family: family.name)
def test_a_registered_family_passes_its_checks(family):
    assert check_model(family) == []
    assert check_states(family) == []


@pytest.mark.parametrize("family", list(families), ids=lambda family: family.name)
def test_a_familys_permissions_and_scopes_are_in_the_catalogue(family):
    own = {family.read_permission, family.cancel_permission, family.write_permission}

    assert own <= all_permissions()
    assert family.token_scopes <= catalogue.token_scopes()


@pytest.mark.django_db
@pytest.mark.parametrize("family", list(families), ids=lambda family: family.name)
def test_the_seeded_roles_hold_what_each_family_grants_them(family):
    own = {family.read_permission, family.cancel_permission, family.write_permission}
    for role_name, permissions in family.seeded_role_grants().items():
        assert set(permissions) <= own
        assert set(permissions) <= set(Role.objects.get(name=role_name).permissions)


def test_the_catalogue_is_complete_only_with_every_family_and_the_webhook_permissions():
    assert all_permissions() == {
        *(permission for family in families for permission in family.permission_labels()),
        webhook_permissions.READ,
        webhook_permissions.WRITE,
    }


def fake_family(model, **declarations) -> JobFamily:
    attributes = {
        "name": "fake",
        "title": "fake jobs",
        "description": "Fake jobs.",
        "model": model,
        "state_field": "state",
        "pending_states": ("pending",),
        "succeeded_states": ("done",),
        "started_field": "created_at",
        "read_permission": "FAKE:READ",
        "cancel_permission": "FAKE:CANCEL",
        "write_permission": "FAKE:WRITE",
        **declarations,
    }
    return type("FakeFamily", (JobFamily,), attributes)()


@isolate_apps("jobs")
def test_a_model_whose_default_manager_is_not_fail_closed_stops_start_up():
    class Leaky(TrackedJob):
        state = models.CharField(max_length=8, choices=[("pending", "p"), ("done", "d")])
        created_at = models.DateTimeField()

        objects = models.Manager()  # returns every tenant's rows when not scoped

        class Meta:
            app_label = "jobs"

        def __str__(self) -> str:
            return self.state

    errors = check_model(fake_family(Leaky))

    assert [error.id for error in errors] == ["jobs.E002"]
    assert errors[0].level == checks.ERROR


@isolate_apps("jobs")
def test_a_model_that_is_not_a_tracked_job_and_unknown_fields_stop_start_up():
    class Plain(models.Model):
        state = models.CharField(max_length=8)

        objects = JobManager()

        class Meta:
            app_label = "jobs"

        def __str__(self) -> str:
            return self.state

    family = fake_family(Plain, started_field="begun", kind_field="sort", progress_field="done")
    errors = check_model(family)

    assert [error.id for error in errors] == ["jobs.E001", "jobs.E003", "jobs.E003", "jobs.E003"]


@isolate_apps("jobs")
def test_a_state_left_out_of_the_outcome_groups_stops_start_up():
    class Sloppy(TrackedJob):
        state = models.CharField(
            max_length=8, choices=[("pending", "p"), ("done", "d"), ("lost", "l")]
        )
        created_at = models.DateTimeField()

        class Meta:
            app_label = "jobs"

        def __str__(self) -> str:
            return self.state

    assert [error.id for error in check_states(fake_family(Sloppy))] == ["jobs.E004"]


def test_settings_that_name_an_unknown_family_stop_start_up(settings):
    settings.JOBDESK_RETENTION_DAYS = {"progres": 7}

    assert [error.id for error in check_settings()] == ["jobs.E005"]


def test_two_families_of_one_name_cannot_both_register():
    registry = FamilyRegistry()
    first = type("First", (type(families["progress"]),), {})()
    second = type("Second", (type(families["progress"]),), {})()
    registry.register(first)

    with pytest.raises(ValueError, match="Two job families are called 'progress'"):
        registry.register(second)


@pytest.mark.django_db
@pytest.mark.parametrize("family", drivers(), ids=lambda family: family.name)
def test_a_tracked_task_event_on_a_deleted_job_is_refused_not_raised(family, tenant):
    job = family.make(tenant)
    family.family.jobs().filter(pk=job.pk).delete()

    assert family.family.start(str(job.pk)) is False
    assert family.family.complete(str(job.pk), results=None) is False
