"""Query budgets: a job read costs at most 2 queries (token, job); a list page a constant number."""

from http import HTTPStatus

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from progress.models import Progress
from tests.progress.factories import make_progress

pytestmark = pytest.mark.django_db

State = Progress.State


@pytest.fixture
def warm(api_client):
    """Make one request first, so the token's once-a-minute `last_used_at` write is done."""

    def request(path: str, headers: dict):
        assert api_client.get(path, **headers).status_code == HTTPStatus.OK
        return path, headers

    return request


def test_show_costs_two_queries_with_a_bearer_token(
    api_client, tenant, reader, warm, django_assert_max_num_queries
):
    job = make_progress(tenant, State.COMPLETED, results={"id": 1})
    path, headers = warm(f"/api/v1/progress/{job.pk}", reader)

    with django_assert_max_num_queries(2):
        response = api_client.get(path, **headers)

    assert response.json()["results"] == {"id": 1}


def test_lti_show_costs_two_queries(
    api_client, tenant, lti_tool, warm, django_assert_max_num_queries
):
    job = make_progress(tenant, State.RUNNING, course_id=5)
    path, headers = warm(f"/api/lti/courses/5/progress/{job.pk}", lti_tool)

    with django_assert_max_num_queries(2):
        response = api_client.get(path, **headers)

    assert response.json()["id"] == job.pk


def test_unknown_job_costs_two_queries(
    api_client, job, reader, warm, django_assert_max_num_queries
):
    warm(f"/api/v1/progress/{job.pk}", reader)

    with django_assert_max_num_queries(2):
        response = api_client.get(f"/api/v1/progress/{job.pk + 1}", **reader)

    assert response.status_code == HTTPStatus.NOT_FOUND


def test_list_costs_the_same_queries_for_1_or_100_rows(api_client, tenant, reader, warm):
    for index in range(101):
        make_progress(tenant, State.COMPLETED, results={"n": index})
    warm("/api/v1/progress", reader)

    counts = {}
    for per_page in (1, 100):
        with CaptureQueriesContext(connection) as queries:
            response = api_client.get("/api/v1/progress", {"per_page": per_page}, **reader)
        assert len(response.json()) == per_page
        counts[per_page] = len(queries)

    # The page itself; the token resolves from the cache after the warm-up request.
    assert counts[1] == counts[100] == 1
