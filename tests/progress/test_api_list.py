import re
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import pytest

from progress.models import Progress
from tests.factories import UserFactory
from tests.progress.factories import make_progress

pytestmark = pytest.mark.django_db

State = Progress.State
LINK = re.compile(r'<([^>]+)>; rel="([a-z]+)"')


def listing(api_client, headers, **params):
    return api_client.get("/api/v1/progress", params, **headers)


def ids(response) -> list[int]:
    return [item["id"] for item in response.json()]


def links(response) -> dict[str, dict]:
    """Return the Link header as {rel: {"page": ..., "per_page": ..., ...}}."""
    parsed = {}
    for url, rel in LINK.findall(response["Link"]):
        query = parse_qs(urlsplit(url).query)
        parsed[rel] = {key: values[0] for key, values in query.items()}
    return parsed


@pytest.fixture
def five_jobs(tenant) -> list[Progress]:
    """Five jobs of `tenant`, oldest first."""
    return [make_progress(tenant, State.RUNNING) for _ in range(5)]


def test_list_is_a_json_array_of_progress_objects_newest_first(api_client, five_jobs, reader):
    response = listing(api_client, reader)

    assert response.status_code == HTTPStatus.OK
    assert isinstance(response.json(), list)
    assert ids(response) == [job.pk for job in reversed(five_jobs)]
    assert response.json()[0]["url"] == f"http://testserver/api/v1/progress/{five_jobs[-1].pk}"


def test_pages_follow_link_header_with_current_next_prev_first(api_client, five_jobs, reader):
    newest_first = [job.pk for job in reversed(five_jobs)]

    first = listing(api_client, reader, per_page=2)
    second = listing(api_client, reader, per_page=2, page=2)
    last = listing(api_client, reader, per_page=2, page=3)

    assert (ids(first), ids(second), ids(last)) == (
        newest_first[:2],
        newest_first[2:4],
        newest_first[4:],
    )
    assert list(links(second)) == ["current", "next", "prev", "first"]
    assert links(second)["next"] == {"page": "3", "per_page": "2"}
    assert links(second)["prev"] == {"page": "1", "per_page": "2"}
    assert list(links(first)) == ["current", "next", "first"]
    assert list(links(last)) == ["current", "prev", "first"]
    assert "last" not in links(second)


def test_link_urls_are_absolute_and_keep_the_filters(api_client, five_jobs, reader):
    response = listing(api_client, reader, per_page=1, workflow_state="running")

    urls = {rel: url for url, rel in LINK.findall(response["Link"])}
    assert urls["next"].startswith("http://testserver/api/v1/progress?")
    assert links(response)["next"] == {"page": "2", "per_page": "1", "workflow_state": "running"}


def test_page_past_the_end_is_an_empty_array(api_client, five_jobs, reader):
    response = listing(api_client, reader, page=9)

    assert response.status_code == HTTPStatus.OK
    assert response.json() == []


@pytest.mark.parametrize(
    ("per_page", "expected"),
    [("abc", 10), ("0", 10), ("-3", 10), ("", 10), ("3", 3), ("1000", 100), ("99999999999", 10)],
)
def test_per_page_is_clamped_as_canvas_does(api_client, tenant, reader, per_page, expected):
    for _ in range(12):
        make_progress(tenant)

    response = listing(api_client, reader, per_page=per_page)

    assert response.status_code == HTTPStatus.OK
    assert len(response.json()) == min(expected, 12)
    assert links(response)["current"]["per_page"] == str(expected)


@pytest.mark.parametrize("page", ["abc", "0", "-1", "1.5", "", "1000001", "9" * 40])
def test_bad_page_is_400_in_canvas_envelope(api_client, job, reader, page):
    response = listing(api_client, reader, page=page)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {
        "errors": [{"message": "page: Must be an integer from 1 to 1000000."}]
    }


def test_filters_narrow_the_list(api_client, tenant, reader):
    creator = UserFactory()
    completed = make_progress(tenant, State.COMPLETED, tag="export", user=creator)
    queued = make_progress(
        tenant, State.QUEUED, tag="import", context_type="Account", context_id=77
    )
    running = make_progress(tenant, State.RUNNING, tag="import")

    def filtered(**params):
        return set(ids(listing(api_client, reader, **params)))

    assert filtered(workflow_state="completed") == {completed.pk}
    assert filtered(tag="import") == {queued.pk, running.pk}
    assert filtered(context_type="Account") == {queued.pk}
    assert filtered(context_id=77) == {queued.pk}
    assert filtered(user_id=creator.pk) == {completed.pk}
    assert filtered(created_after=queued.created_at.isoformat()) == {queued.pk, running.pk}
    assert filtered(created_before=queued.created_at.isoformat()) == {completed.pk}


def test_workflow_state_filter_takes_several_values(api_client, tenant, reader):
    queued = make_progress(tenant, State.QUEUED)
    running = make_progress(tenant, State.RUNNING)
    make_progress(tenant, State.COMPLETED)

    response = api_client.get(
        "/api/v1/progress?workflow_state=queued&workflow_state=running", **reader
    )

    assert set(ids(response)) == {queued.pk, running.pk}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"workflow_state": "done"}, "workflow_state"),
        ({"context_id": "abc"}, "context_id"),
        ({"context_id": "9223372036854775808"}, "context_id"),
        ({"user_id": "1.5"}, "user_id"),
        ({"created_after": "yesterday"}, "created_after"),
        ({"created_before": "2024-13-45"}, "created_before"),
        ({"created_before": "0001-01-01T00:00:00+01:00"}, "created_before"),
        ({"created_after": "9999-12-31T23:59:59-01:00"}, "created_after"),
    ],
)
def test_bad_filter_values_are_400_naming_the_filter(api_client, job, reader, params, field):
    response = listing(api_client, reader, **params)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    messages = [error["message"] for error in response.json()["errors"]]
    assert messages
    assert all(message.startswith(f"{field}: ") for message in messages)


def test_unknown_parameters_are_ignored(api_client, job, reader):
    response = listing(api_client, reader, include="everything")

    assert ids(response) == [job.pk]


def test_list_without_credentials_is_401_and_without_permission_403(
    api_client, job, bearer, tenant
):
    from async_status.family import ASYNC_STATUS_READ

    anonymous = listing(api_client, {})
    forbidden = listing(api_client, bearer(tenant, "admin", scopes=[ASYNC_STATUS_READ]))

    assert anonymous.status_code == HTTPStatus.UNAUTHORIZED
    assert forbidden.status_code == HTTPStatus.FORBIDDEN
    assert forbidden.json()["status"] == "unauthorized"


def test_list_accepts_a_trailing_slash(api_client, job, reader):
    assert ids(api_client.get("/api/v1/progress/", **reader)) == [job.pk]


def test_time_filters_with_offsets_beyond_postgresqls_range_compare_in_utc(
    api_client, tenant, reader
):
    job = make_progress(tenant, State.RUNNING)

    response = listing(api_client, reader, created_before="9000-07-03T03:51:35+23:36")

    assert response.status_code == HTTPStatus.OK
    assert ids(response) == [job.pk]
