"""/metrics: Prometheus text for loopback and the metrics token, the job gauges read at scrape."""

import re
from http import HTTPStatus
from io import StringIO

import pytest
from django.core.management import call_command

from jobs.registry import families
from progress import services as progresses
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db

ELSEWHERE = {"REMOTE_ADDR": "203.0.113.7"}
SHOW_ROUTE = "^api/v1/progress/(?P<pk>[^/]+)/?$"


def sample(text: str, name: str, **labels: str) -> float | None:
    """Return the value of the series `name{labels...}` in the exposition, or None."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and line.split(" ")[0] != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        if all(found.get(key) == value for key, value in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def scrape(client, **extra) -> str:
    response = client.get("/metrics", **extra)
    assert response.status_code == HTTPStatus.OK, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return response.content.decode()


def test_metrics_are_served_to_loopback(client):
    assert "jobdesk_jobs" in scrape(client, REMOTE_ADDR="127.0.0.1")
    assert "jobdesk_jobs" in scrape(client, REMOTE_ADDR="::1")


@pytest.mark.parametrize(
    "extra",
    [
        ELSEWHERE,
        {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.7"},
        {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_PROTO": "https"},
        {"REMOTE_ADDR": "127.0.0.1", "HTTP_FORWARDED": "for=203.0.113.7"},
        {**ELSEWHERE, "HTTP_AUTHORIZATION": "Bearer wrong"},
        {**ELSEWHERE, "HTTP_AUTHORIZATION": "Bearer "},
        {**ELSEWHERE, "HTTP_AUTHORIZATION": "Basic bWV0cmljczpzZWNyZXQ="},
    ],
    ids=["remote", "proxied-for", "proxied-proto", "forwarded", "wrong-token", "empty", "basic"],
)
def test_metrics_refuse_others_with_401(client, settings, extra):
    settings.JOBDESK_METRICS_TOKEN = "metrics-secret-of-the-operator"

    response = client.get("/metrics", **extra)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"jobdesk_jobs" not in response.content


def test_metrics_are_served_to_the_bearer_of_the_metrics_token(client, settings):
    settings.JOBDESK_METRICS_TOKEN = "metrics-secret-of-the-operator"

    text = scrape(client, **ELSEWHERE, HTTP_AUTHORIZATION="Bearer metrics-secret-of-the-operator")

    assert "jobdesk_jobs" in text


def test_a_tenants_api_token_never_opens_metrics(client, settings, tenant, bearer):
    settings.JOBDESK_METRICS_TOKEN = ""  # no metrics token configured: loopback only
    headers = bearer(tenant, "admin")

    assert client.get("/metrics", **ELSEWHERE, **headers).status_code == HTTPStatus.UNAUTHORIZED


def test_job_gauges_count_every_family_by_state_across_tenants(client, tenant, other_tenant):
    for owner in (tenant, other_tenant):
        progresses.progress_create(tenant=owner, tag="t", context_type="Course", context_id=1)
    done = progresses.progress_create(tenant=tenant, tag="t", context_type="Course", context_id=2)
    progresses.progress_fail(done, message="no")

    text = scrape(client)

    assert sample(text, "jobdesk_jobs", family="progress", state="queued", outcome="pending") == 2
    assert sample(text, "jobdesk_jobs", family="progress", state="failed", outcome="failed") == 1
    assert 'tenant="' not in text
    for family in families:
        assert (
            sample(text, "jobdesk_oldest_pending_job_age_seconds", family=family.name) is not None
        )
    assert sample(text, "jobdesk_oldest_pending_job_age_seconds", family="progress") >= 0
    assert sample(text, "jobdesk_oldest_pending_job_age_seconds", family="async_status") == 0


def test_the_oldest_pending_age_follows_the_oldest_unfinished_job(client, tenant, time_machine):
    time_machine.move_to("2030-01-01T00:00:00Z", tick=False)
    progresses.progress_create(tenant=tenant, tag="t", context_type="Course", context_id=1)
    time_machine.move_to("2030-01-01T00:10:00Z", tick=False)
    progresses.progress_create(tenant=tenant, tag="t", context_type="Course", context_id=2)

    text = scrape(client)

    assert sample(text, "jobdesk_oldest_pending_job_age_seconds", family="progress") == 600


def test_requests_are_counted_by_route_pattern_and_status_not_by_path(client, tenant, bearer):
    headers = bearer(tenant)
    before = (
        sample(
            scrape(client),
            "jobdesk_http_request_duration_seconds_count",
            route=SHOW_ROUTE,
            status="404",
        )
        or 0
    )
    for pk in (91, 92, 93):
        client.get(f"/api/v1/progress/{pk}", **headers)

    text = scrape(client)

    count = sample(
        text,
        "jobdesk_http_request_duration_seconds_count",
        route=SHOW_ROUTE,
        status="404",
    )
    assert count == before + 3
    assert "/api/v1/progress/91" not in text


def test_poll_cache_hits_and_misses_are_counted_per_family(client, tenant, bearer):
    headers = bearer(tenant)
    job = progresses.progress_create(tenant=tenant, tag="t", context_type="Course", context_id=1)
    text = scrape(client)
    hits = sample(text, "jobdesk_poll_snapshot_lookups_total", family="progress", result="hit") or 0
    misses = (
        sample(text, "jobdesk_poll_snapshot_lookups_total", family="progress", result="miss") or 0
    )

    for _ in range(3):
        assert client.get(f"/api/v1/progress/{job.pk}", **headers).status_code == HTTPStatus.OK

    text = scrape(client)
    assert (
        sample(text, "jobdesk_poll_snapshot_lookups_total", family="progress", result="miss")
        == misses + 1
    )
    assert (
        sample(text, "jobdesk_poll_snapshot_lookups_total", family="progress", result="hit")
        == hits + 2
    )


def test_reaper_and_retention_runs_are_counted(client, settings, tenant):
    job = progresses.progress_create(tenant=tenant, tag="t", context_type="Course", context_id=1)
    progresses.progress_start(job)
    settings.JOBDESK_STUCK_JOB_TIMEOUT = 0
    text = scrape(client)
    reaped = sample(text, "jobdesk_reaped_jobs_total", family="progress") or 0
    runs = sample(text, "jobdesk_maintenance_runs_total", command="reap_stuck_jobs") or 0

    call_command("reap_stuck_jobs", stdout=StringIO())
    call_command("purge_finished_jobs", stdout=StringIO())

    text = scrape(client)
    assert sample(text, "jobdesk_reaped_jobs_total", family="progress") == reaped + 1
    assert sample(text, "jobdesk_maintenance_runs_total", command="reap_stuck_jobs") == runs + 1
    assert sample(text, "jobdesk_maintenance_runs_total", command="purge_finished_jobs") >= 1
    assert (
        sample(text, "jobdesk_maintenance_last_run_timestamp_seconds", command="reap_stuck_jobs")
        > 0
    )
    assert sample(text, "jobdesk_purged_jobs_total", family="progress") is not None


def test_a_scrape_runs_a_constant_number_of_queries_per_family(
    client, django_assert_max_num_queries
):
    TenantFactory()
    with django_assert_max_num_queries(2 * len(families)):
        scrape(client)
