"""The dashboard's live parts: its JSON, cancellations apart, the hourly chart, the unfinished
jobs per kind, the stuck jobs and the workers."""

from datetime import UTC, datetime, timedelta
from http import HTTPStatus

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from jobs import dashboard
from jobs.models import JobEvent, TaskWorker
from tenancy.models import TenantScope
from tests.conftest import require_redis
from tests.factories import UserFactory
from tests.jobs.drivers import driver, drivers, long_ago, read_permissions

pytestmark = pytest.mark.django_db

INDEX = reverse("admin:index")
DATA = reverse("jobdesk-dashboard-data")
Kind = JobEvent.Kind


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def superuser() -> Client:
    return logged_in(UserFactory(is_staff=True, is_superuser=True))


@pytest.fixture
def reader(tenant, make_member) -> Client:
    return logged_in(make_member(tenant, "reader", permissions=read_permissions(), is_staff=True))


@pytest.fixture(params=drivers(), ids=lambda family: family.name)
def family(request):
    return request.param


def panel_of(response, family) -> dashboard.FamilyPanel:
    return next(panel for panel in response.context["panels"] if panel.name == family.name)


def cells_of(panel, tenant) -> dict[str, dashboard.Cell]:
    row = next(row for row in panel.rows if row.tenant == tenant)
    return {cell.key: cell for cell in row.cells}


def table_of(panel, name: str) -> dashboard.Table:
    return next(table for table in panel.tables if table.key == f"{panel.name}:{name}")


def started(family, tenant):
    job = family.make(tenant)
    family.family.start(str(job.pk))
    return job


def test_cancelled_jobs_count_apart_from_failures_and_their_links_agree(family, superuser, tenant):
    operator = UserFactory()
    for _ in range(2):
        family.family.cancel(family.reload(started(family, tenant)), actor=operator)
    family.family.fail(str(started(family, tenant).pk), message="broken")

    cells = cells_of(panel_of(superuser.get(INDEX), family), tenant)

    assert (cells[family.failed].count, cells["cancelled"].count) == (1, 2)
    assert cells["total"].count == 3
    for key in (family.failed, "cancelled"):
        listed = superuser.get(cells[key].url)
        assert listed.context["cl"].result_count == cells[key].count, key


def test_recent_failures_leave_cancellations_out(family, superuser, tenant):
    cancelled = started(family, tenant)
    family.family.cancel(family.reload(cancelled), actor=None)
    failed = started(family, tenant)
    family.family.fail(str(failed.pk), message="broken")

    panel = panel_of(superuser.get(INDEX), family)

    assert [job.pk for job, _ in panel.failures] == [failed.pk]
    (row,) = table_of(panel, "failures").rows
    assert row[0].href == family.url("change", failed)


def test_the_chart_counts_jobs_ended_per_hour_for_the_last_day(superuser, tenant):
    family = driver("progress")
    now = timezone.now()
    events = [
        (Kind.COMPLETED, now),
        (Kind.COMPLETED, now),
        (Kind.FAILED, now - timedelta(hours=2)),
        (Kind.REAPED, now - timedelta(hours=2)),
        (Kind.CANCELLED, now - timedelta(hours=5)),
        (Kind.COMPLETED, now - timedelta(hours=30)),
        (Kind.PROGRESS, now),
    ]
    JobEvent.objects.bulk_create(
        JobEvent(tenant=tenant, family=family.name, job_id="1", kind=kind, to_state="x", at=at)
        for kind, at in events
    )

    hours = panel_of(superuser.get(INDEX), family).hours

    assert len(hours) == dashboard.CHART_HOURS
    assert hours[-1].start == now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    assert (hours[-1].succeeded, hours[-1].failed) == (2, 0)
    assert hours[-3].failed == 2
    assert hours[-6].cancelled == 1
    assert sum(hour.total for hour in hours) == 5


def test_the_chart_counts_only_the_tenants_the_user_may_read(reader, tenant, other_tenant):
    family = driver("progress")
    for owner in (tenant, other_tenant, other_tenant):
        JobEvent.objects.create(
            tenant=owner, family=family.name, job_id="1", kind=Kind.COMPLETED, to_state="x"
        )

    hours = panel_of(reader.get(INDEX), family).hours

    assert sum(hour.succeeded for hour in hours) == 1


def test_the_page_draws_the_chart_as_svg_with_each_hours_counts(superuser, tenant):
    family = driver("async_status")
    job = started(family, tenant)
    family.family.complete(str(job.pk), results=None)

    response = superuser.get(INDEX)

    assert f'data-jd-chart="{family.name}"' in response.text
    assert "<svg" in response.text
    assert "1 succeeded, 0 failed, 0 cancelled</title>" in response.text
    assert "cdn" not in response.text.lower()


def test_unfinished_jobs_are_listed_per_kind_with_the_oldest_ones_age(superuser, tenant):
    family = driver("progress")
    family.insert(tenant, count=2, started=long_ago())
    for job in family.insert(tenant, count=3):
        family.family.jobs().filter(pk=job.pk).update(tag="course_copy")

    table = table_of(panel_of(superuser.get(INDEX), family), "queues")

    assert [[item.text for item in row[:2]] for row in table.rows] == [
        ["nightly_export", "2"],
        ["course_copy", "3"],
    ]
    assert table.rows[0][2].text.startswith("3 h ")
    listed = superuser.get(table.rows[1][0].href)
    assert listed.context["cl"].result_count == 3


def test_stuck_jobs_are_listed_with_their_last_sign_of_life(family, superuser, tenant):
    stuck = family.insert(tenant, started=long_ago())
    family.family.jobs().filter(pk=stuck.pk).update(heartbeat_at=long_ago())
    family.insert(tenant)

    table = table_of(panel_of(superuser.get(INDEX), family), "stuck")

    (row,) = table.rows
    assert row[0].href == family.url("change", stuck)
    assert row[3].text.startswith("3 h ")


def test_superusers_see_the_workers_seen_in_the_last_day(superuser, reader):
    now = timezone.now()
    TaskWorker.objects.create(backend="default", name="w-busy", last_seen=now, running="job 1")
    TaskWorker.objects.create(backend="default", name="w-idle", last_seen=now - timedelta(hours=1))
    TaskWorker.objects.create(backend="default", name="w-gone", last_seen=now - timedelta(days=2))

    workers = superuser.get(INDEX).context["workers"]

    assert [[item.text for item in row[:3]] for row in workers.rows] == [
        ["default", "w-busy", "running job 1"],
        ["default", "w-idle", "idle"],
    ]
    assert reader.get(INDEX).context["workers"] is None


def test_an_unreachable_redis_is_a_line_about_rq_workers_not_an_error(superuser, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend"}}
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/0"}}

    response = superuser.get(INDEX)

    assert response.status_code == HTTPStatus.OK
    rows = [[item.text for item in row] for row in response.context["workers"].rows]
    assert rows == [["default", "RQ", "Redis unreachable", "-"]]


@pytest.mark.rq
def test_rq_workers_are_listed_with_their_heartbeat(superuser, settings):
    from redis import Redis
    from rq import Queue, Worker

    url = settings.RQ_QUEUES["default"]["URL"]
    require_redis(url)
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend"}}
    redis = Redis.from_url(url)
    worker = Worker([Queue("jobdesk-dashboard-test", connection=redis)], connection=redis)
    worker.register_birth()
    try:
        rows = superuser.get(INDEX).context["workers"].rows
    finally:
        worker.register_death()
        redis.close()

    (row,) = [row for row in rows if row[1].text == worker.name]
    assert row[0].text == "default"
    assert row[3].text.endswith(" ago")


def test_the_json_has_every_number_and_table_of_the_page(superuser, tenant):
    for family in drivers():
        family.insert(tenant, count=2)
        family.insert(tenant, family.failed)

    page = superuser.get(INDEX)
    response = superuser.get(DATA)

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    body = response.json()
    assert [family["name"] for family in body["families"]] == [d.name for d in drivers()]
    for panel, data in zip(page.context["panels"], body["families"], strict=True):
        for row in panel.rows:
            for cell in row.cells:
                key = f"{panel.name}:{row.tenant.pk}:{cell.key}"
                assert data["cells"][key] == {"count": cell.count, "url": cell.url}
                assert f'data-jd-cell="{key}"' in page.text
        assert len(data["hours"]) == dashboard.CHART_HOURS
        assert [t["key"] for t in data["tables"]] == [t.key for t in panel.tables]
    assert body["workers"]["key"] == "workers"


def test_the_json_holds_only_the_readers_tenants(reader, tenant, other_tenant):
    for family in drivers():
        family.insert(other_tenant, family.failed, started=long_ago())
        family.insert(other_tenant, started=long_ago())
        family.insert(tenant)

    body = reader.get(DATA).json()

    text = str(body)
    assert body["workers"] is None
    for data in body["families"]:
        assert {key.split(":")[1] for key in data["cells"]} == {str(tenant.pk)}
        assert all(not t["rows"] for t in data["tables"] if not t["key"].endswith("queues"))
    assert "Globex" not in text


def test_the_json_needs_a_staff_login(client, tenant, make_member):
    assert client.get(DATA).status_code == HTTPStatus.FOUND
    client.force_login(make_member(tenant, "admin", is_staff=False))
    assert client.get(DATA).status_code == HTTPStatus.FOUND


@pytest.mark.parametrize("who", ["superuser", "reader"])
def test_the_json_queries_do_not_grow_with_the_number_of_jobs(who, request, tenant):
    client = request.getfixturevalue(who)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(DATA).status_code == HTTPStatus.OK
        return len(captured)

    for family in drivers():
        family.insert(tenant, count=2, started=long_ago())
        family.insert(tenant, family.failed)
    client.get(DATA)
    few = queries()
    for family in drivers():
        family.insert(tenant, count=20, started=long_ago())
        family.insert(tenant, family.failed, count=20)

    assert queries() == few
    # Session, user, memberships, tenants; four per family; cancellations and chart; workers.
    assert few <= 3 + 1 + 4 * len(drivers()) + 2 + 1


def test_the_dashboard_and_a_job_list_load_the_refresh_script(superuser, tenant):
    family = drivers()[0]
    family.insert(tenant)

    index = superuser.get(INDEX)
    changelist = superuser.get(family.url("changelist"))

    assert "jobs/admin.js" in index.text
    assert f'data-source="{DATA}"' in index.text
    assert "jobs/admin.js" in changelist.text
    assert 'id="jobdesk-list-refresh"' in changelist.text


def test_the_chart_runs_from_23_hours_before_the_current_hour_to_it(db):
    now = datetime(2026, 1, 15, 10, 30, tzinfo=UTC)

    (hours,) = dashboard.hourly({"progress": TenantScope(everything=True)}, now=now).values()

    assert hours[0].start == datetime(2026, 1, 14, 11, tzinfo=UTC)
    assert hours[-1].start == datetime(2026, 1, 15, 10, tzinfo=UTC)
    assert hours[-1].label == "10:00 to 11:00 UTC: 0 succeeded, 0 failed, 0 cancelled"
