"""`GET /api/5.0/async_status`: the jobs the principal may read, filtered and paginated."""

from datetime import UTC, datetime, timedelta
from http import HTTPStatus

import pytest

from async_status.filters import MAX_LIMIT
from async_status.models import AsyncStatus

pytestmark = pytest.mark.django_db

LIST = "/api/5.0/async_status"
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def jobs(tenant, make_job) -> list[AsyncStatus]:
    """Five jobs of `tenant`, an hour apart, oldest first; the second and fourth finished."""
    made = []
    for hour, status in enumerate(["PENDING", "SUCCEEDED", "PENDING", "FAILED", "PENDING"]):
        job = make_job(tenant, status)
        AsyncStatus.objects.across_tenants().filter(pk=job.pk).update(
            start_time=T0 + timedelta(hours=hour)
        )
        made.append(job)
    return made


def ids(response) -> list[int]:
    assert response.status_code == HTTPStatus.OK, response.content
    return [item["id"] for item in response.json()["response"]]


def test_list_is_newest_first_in_the_detail_shape(api_client, ops_headers, jobs):
    response = api_client.get(LIST, **ops_headers)

    assert ids(response) == [job.pk for job in reversed(jobs)]
    first = response.json()["response"][0]
    assert list(first) == ["id", "status", "start_time", "end_time", "message"]
    assert first["start_time"] == "2026-01-01T16:00:00Z"
    assert list(response.json()) == ["response"]


@pytest.mark.parametrize(
    ("status", "positions"), [("PENDING", [4, 2, 0]), ("SUCCEEDED", [1]), ("FAILED", [3])]
)
def test_list_filters_by_status(api_client, ops_headers, jobs, status, positions):
    response = api_client.get(LIST, {"status": status}, **ops_headers)

    assert ids(response) == [jobs[i].pk for i in positions]


def test_list_filters_by_start_time_from_inclusive_to_exclusive(api_client, ops_headers, jobs):
    response = api_client.get(
        LIST,
        {"startTimeFrom": "2026-01-01T13:00:00Z", "startTimeTo": "2026-01-01T15:00:00Z"},
        **ops_headers,
    )

    assert ids(response) == [jobs[2].pk, jobs[1].pk]


def test_list_start_time_accepts_offsets(api_client, ops_headers, jobs):
    response = api_client.get(LIST, {"startTimeFrom": "2026-01-01T17:00:00+01:00"}, **ops_headers)

    assert ids(response) == [jobs[4].pk]


@pytest.mark.parametrize(
    ("params", "positions"),
    [
        ({"limit": 2}, [4, 3]),
        ({"limit": 2, "offset": 2}, [2, 1]),
        ({"limit": 2, "page": 3}, [0]),
        ({"limit": 2, "page": 2, "offset": 0}, [4, 3]),
        ({"offset": 4}, [0]),
        ({"offset": 5}, []),
    ],
)
def test_list_pages_with_limit_offset_and_page(api_client, ops_headers, jobs, params, positions):
    response = api_client.get(LIST, params, **ops_headers)

    assert ids(response) == [jobs[i].pk for i in positions]


def test_list_shows_only_the_principals_tenants(
    api_client, tenant, other_tenant, ops_headers, make_job, jobs
):
    other = make_job(other_tenant)
    before = AsyncStatus.objects.across_tenants().get(pk=other.pk)

    listed = ids(api_client.get(LIST, **ops_headers))

    assert other.pk not in listed
    assert sorted(listed) == sorted(job.pk for job in jobs)
    after = AsyncStatus.objects.across_tenants().get(pk=other.pk)
    assert (after.status, after.message, after.updated_at) == (
        before.status,
        before.message,
        before.updated_at,
    )


def test_list_needs_credentials_and_the_read_permission(api_client, tenant, bearer, jobs):
    assert api_client.get(LIST).status_code == HTTPStatus.UNAUTHORIZED
    response = api_client.get(LIST, **bearer(tenant, "read-only"))
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["alerts"][0]["text"] == "missing required Permissions: ASYNC-STATUS:READ"


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({"status": "pending"}, "status parameter must be one of PENDING, SUCCEEDED, FAILED"),
        ({"status": "\x00"}, "status parameter must be one of PENDING, SUCCEEDED, FAILED"),
        ({"limit": "abc"}, "limit parameter must be a positive integer"),
        ({"limit": "0"}, "limit parameter must be a positive integer"),
        ({"limit": "-1"}, "limit parameter must be a positive integer"),
        ({"limit": "1.5"}, "limit parameter must be a positive integer"),
        ({"limit": "²"}, "limit parameter must be a positive integer"),
        ({"limit": str(MAX_LIMIT + 1)}, f"limit parameter must be at most {MAX_LIMIT}"),
        ({"offset": "-1"}, "offset parameter must be a non-negative integer"),
        ({"offset": "9" * 30}, "offset parameter must be at most 2147483647"),
        ({"offset": "9" * 5000}, "offset parameter must be a non-negative integer"),
        ({"page": "0"}, "page parameter must be a positive integer"),
        ({"page": "x"}, "page parameter must be a positive integer"),
        ({"startTimeFrom": "yesterday"}, "startTimeFrom parameter must be an RFC 3339 time"),
        ({"startTimeTo": "2026-13-01T00:00:00Z"}, "startTimeTo parameter must be an RFC 3339"),
        ({"startTimeFrom": "0001-01-01T00:00:00+05:00"}, "startTimeFrom parameter must be"),
        ({"startTimeTo": "2026-01-01T00:00:00Z" * 100}, "startTimeTo parameter must be"),
    ],
)
def test_bad_list_parameters_are_400_alerts(api_client, ops_headers, jobs, params, text):
    response = api_client.get(LIST, params, **ops_headers)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    alert = response.json()["alerts"][0]
    assert alert["text"].startswith(text)
    assert alert["level"] == "error"


@pytest.mark.parametrize("limit", [1, 100, MAX_LIMIT])
def test_list_costs_two_queries_whatever_the_limit(
    api_client, ops_headers, tenant, make_job, django_assert_max_num_queries, limit
):
    for _ in range(3):
        make_job(tenant, "SUCCEEDED")
    api_client.get(LIST, **ops_headers)

    with django_assert_max_num_queries(2):
        response = api_client.get(LIST, {"limit": limit}, **ops_headers)

    assert len(response.json()["response"]) == min(limit, 3)


def test_list_is_405_for_writes_other_than_a_producer_create(api_client, ops_headers):
    response = api_client.put(LIST, {}, format="json", **ops_headers)

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert AsyncStatus.objects.across_tenants().count() == 0
