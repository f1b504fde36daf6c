"""`demo_tasks` enqueues real tracked tasks; a worker runs them to their three outcomes."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from progress.models import Progress

pytestmark = pytest.mark.django_db


def test_demo_tasks_end_failed_cancelled_and_completed(
    tenant, run_worker, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr("progress.tasks.time.sleep", lambda seconds: None)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo_tasks", "--seconds", "0", stdout=StringIO())

    run_worker()

    jobs = dict(Progress.objects.for_tenant(tenant).values_list("tag", "workflow_state"))
    assert jobs == {
        "demo_import_that_fails": "failed",
        "demo_export_cancelled": "failed",
        "demo_course_copy": "completed",
    }
    cancelled = Progress.objects.for_tenant(tenant).get(tag="demo_export_cancelled")
    assert cancelled.message == "Cancelled by the demo operator."


def test_demo_tasks_needs_the_demo_tenant(db):
    with pytest.raises(CommandError, match=r"manage\.py demo"):
        call_command("demo_tasks", stdout=StringIO())
