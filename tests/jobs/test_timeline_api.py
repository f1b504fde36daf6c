"""`GET /api/jobs/<family>/<job_id>/timeline`: any family's timeline, in jobdesk's own JSON."""

from http import HTTPStatus

import pytest

from jobs.models import JobEvent
from tests.jobs.drivers import drivers

pytestmark = pytest.mark.django_db

Kind = JobEvent.Kind


@pytest.fixture(params=drivers(), ids=lambda family: family.name)
def family(request):
    return request.param


def url(family_name: str, job_id: object) -> str:
    return f"/api/jobs/{family_name}/{job_id}/timeline"


@pytest.fixture
def reader(tenant, make_member, make_token):
    """Return the raw key of a member of `tenant` who may read every family's jobs."""
    return make_token(make_member(tenant, "admin", username="ada"), tenant)


def read(api_client, family, job_id, key: str):
    return api_client.get(url(family.name, job_id), **family.headers(key))


def finished_job(family, tenant, user=None):
    job = family.make(tenant, user=user)
    family.family.start(str(job.pk))
    family.family.report(str(job.pk), completion=50, message=None)
    family.family.complete(str(job.pk), results=None)
    return job


def test_a_reader_gets_the_jobs_timeline_oldest_first(family, api_client, tenant, reader):
    job = finished_job(family, tenant)

    response = read(api_client, family, job.pk, reader)

    assert response.status_code == HTTPStatus.OK
    assert response["Cache-Control"] == "private, no-cache"
    body = response.json()
    assert list(body) == ["family", "job_id", "events"]
    assert (body["family"], body["job_id"]) == (family.name, str(job.pk))
    kinds = [event["kind"] for event in body["events"]]
    expected = [Kind.CREATED, Kind.STARTED, Kind.COMPLETED]
    if family.family.progress_field:
        expected.insert(2, Kind.PROGRESS)
    assert kinds == expected
    created, *_, completed = body["events"]
    assert list(created) == [
        "at",
        "kind",
        "from_state",
        "to_state",
        "progress",
        "message",
        "actor",
    ]
    assert created["from_state"] is None
    assert (completed["from_state"], completed["to_state"]) == (family.running, family.succeeded)
    assert completed["at"].endswith("Z")


def test_the_timeline_names_who_made_each_change(api_client, tenant, reader, make_member):
    family = drivers()[0]
    creator = make_member(tenant, "admin", username="carol")

    job = finished_job(family, tenant, user=creator)

    events = read(api_client, family, job.pk, reader).json()["events"]
    assert events[0]["actor"] == "carol"
    assert events[1]["actor"] is None


def test_another_tenants_job_answers_like_a_missing_one_and_is_unchanged(
    family, api_client, other_tenant, reader
):
    theirs = finished_job(family, other_tenant)
    missing_id = "9" * 12

    other = read(api_client, family, theirs.pk, reader)
    missing = read(api_client, family, missing_id, reader)

    assert other.status_code == missing.status_code == HTTPStatus.NOT_FOUND
    assert set(other.json()) == {"detail"}
    assert str(theirs.pk) in other.json()["detail"]
    assert family.state_of(theirs) == family.succeeded


@pytest.mark.parametrize(
    "job_id",
    ["abc!", "x" * 65, "9" * 20, "-1", "%00", "1%2F2", " 1"],
    ids=["symbol", "too-long", "beyond-bigint", "negative", "nul", "slash", "space"],
)
def test_a_malformed_id_is_a_404_never_a_500(family, api_client, reader, job_id):
    response = read(api_client, family, job_id, reader)

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert "detail" in response.json()


def test_an_unknown_family_is_a_404_naming_the_families(api_client, tenant, reader):
    family = drivers()[0]
    job = finished_job(family, tenant)

    response = api_client.get(url("celery", job.pk), HTTP_AUTHORIZATION=f"Bearer {reader}")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert family.name in response.json()["detail"]


def test_without_credentials_it_is_a_401(family, api_client, tenant):
    job = finished_job(family, tenant)

    response = api_client.get(url(family.name, job.pk))

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_without_the_familys_read_permission_anywhere_it_is_a_403(
    family, api_client, tenant, make_member, make_token
):
    job = finished_job(family, tenant)
    others = [each.family.read_permission for each in drivers() if each is not family]
    user = make_member(tenant, "others", permissions=others)

    response = read(api_client, family, job.pk, make_token(user, tenant))

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert family.family.read_permission in response.json()["detail"]


def test_a_staff_session_reads_it_too(family, client, tenant, make_member):
    job = finished_job(family, tenant)
    reads = [each.family.read_permission for each in drivers()]
    client.force_login(make_member(tenant, "reads", permissions=reads))

    response = client.get(url(family.name, job.pk))

    assert response.status_code == HTTPStatus.OK


def test_a_failed_tracked_jobs_timeline_holds_no_traceback(
    family, api_client, tenant, reader, fail_tracked_job
):
    job = fail_tracked_job(family, tenant, note="secret-in-the-traceback")

    response = read(api_client, family, job.pk, reader)

    assert response.json()["events"][-1]["kind"] == Kind.FAILED
    assert "secret-in-the-traceback" not in response.text
    assert "Traceback" not in response.text


def test_reading_a_timeline_costs_at_most_three_queries(
    family, api_client, tenant, reader, django_assert_max_num_queries
):
    job = finished_job(family, tenant)
    read(api_client, family, job.pk, reader)

    with django_assert_max_num_queries(3):  # the token (when not cached), the job, its events
        response = read(api_client, family, job.pk, reader)

    assert response.status_code == HTTPStatus.OK


@pytest.mark.parametrize("path", ["/api/jobs", "/api/jobs/", "/api/jobs/progress/1"])
def test_other_paths_under_api_jobs_are_json_404s(api_client, reader, path):
    response = api_client.get(path, HTTP_AUTHORIZATION=f"Bearer {reader}")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response["Content-Type"] == "application/json"
