"""What Canvas clients send besides a Bearer header: `access_token` in the query or form body,
any `Accept`, and Canvas' string-ids variant, answered as Canvas answers them."""

import json
import logging
from http import HTTPStatus

import pytest

from progress.models import Progress
from progress.services import progress_complete, progress_start
from tenancy.logging import RedactAccessTokens
from tenancy.models import ApiToken
from tests.factories import UserFactory
from tests.progress.factories import make_progress

pytestmark = pytest.mark.django_db

State = Progress.State
STRING_IDS = "application/json+canvas-string-ids"


@pytest.fixture
def operator(make_member, tenant):
    return make_member(tenant, "operations")


@pytest.fixture
def key(operator, tenant, make_token) -> str:
    return make_token(operator, tenant)


@pytest.fixture
def job(tenant):
    return make_progress(tenant, State.RUNNING)


def test_a_key_in_the_query_string_reads_a_job(api_client, job, key):
    response = api_client.get(f"/api/v1/progress/{job.pk}", {"access_token": key})

    assert response.status_code == HTTPStatus.OK
    assert response.json()["id"] == job.pk


def test_a_key_in_the_form_body_cancels_a_job(api_client, job, key):
    response = api_client.post(
        f"/api/v1/progress/{job.pk}/cancel", {"access_token": key, "message": "stop"}
    )

    assert response.status_code == HTTPStatus.OK
    job.refresh_from_db()
    assert (job.workflow_state, job.message) == (State.FAILED, "stop")


def test_a_key_in_a_json_body_is_not_a_credential(api_client, job, key):
    response = api_client.post(
        f"/api/v1/progress/{job.pk}/cancel", {"access_token": key}, format="json"
    )

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    job.refresh_from_db()
    assert job.workflow_state == State.RUNNING


def test_an_authorization_header_wins_over_the_parameter(api_client, job, key):
    response = api_client.get(
        f"/api/v1/progress/{job.pk}", {"access_token": key}, HTTP_AUTHORIZATION="Bearer wrong"
    )

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == {"errors": [{"message": "Invalid access token."}]}


@pytest.mark.parametrize(("token", "message"), [("wrong", "Invalid access token."), ("", None)])
def test_a_bad_parameter_key_is_refused_in_canvas_envelope(api_client, job, token, message):
    response = api_client.get(f"/api/v1/progress/{job.pk}", {"access_token": token})

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response["WWW-Authenticate"] == 'Bearer realm="canvas-lms"'
    if message:
        assert response.json()["errors"] == [{"message": message}]


def test_a_parameter_key_of_another_tenant_does_not_see_the_job(
    api_client, job, make_member, make_token, other_tenant
):
    theirs = make_token(make_member(other_tenant), other_tenant)

    response = api_client.post(f"/api/v1/progress/{job.pk}/cancel", {"access_token": theirs})

    assert response.status_code == HTTPStatus.NOT_FOUND
    job.refresh_from_db()
    assert job.workflow_state == State.RUNNING


def test_a_parameter_key_polls_from_the_cache_with_no_query(
    api_client, job, key, django_assert_num_queries
):
    api_client.get(f"/api/v1/progress/{job.pk}", {"access_token": key})

    with django_assert_num_queries(0):
        response = api_client.get(f"/api/v1/progress/{job.pk}", {"access_token": key})

    assert response.status_code == HTTPStatus.OK
    assert ApiToken.objects.get().last_used_at is not None


def test_the_key_is_never_echoed_in_url_or_link(api_client, job, key):
    shown = api_client.get(f"/api/v1/progress/{job.pk}", {"access_token": key})
    listed = api_client.get("/api/v1/progress", {"access_token": key, "per_page": 1})

    assert key not in shown.json()["url"]
    assert listed.status_code == HTTPStatus.OK
    assert key not in listed["Link"]
    assert "access_token" not in listed["Link"]
    assert "per_page=1" in listed["Link"]


def test_the_key_is_masked_in_log_lines():
    record = logging.LogRecord(
        "django.server", logging.INFO, __file__, 1, '"%s" %s %s',
        ("GET /api/v1/progress/1?access_token=jd_secret&per_page=5 HTTP/1.1", "200", "42"),
        None,
    )  # fmt: skip

    RedactAccessTokens().filter(record)

    assert "jd_secret" not in record.getMessage()
    assert "access_token=[redacted]&per_page=5" in record.getMessage()


# Accept and the string-ids variant ----------------------------------------------------------


def test_string_ids_are_json_typed_as_canvas_types_it(api_client, job, key):
    response = api_client.get(
        f"/api/v1/progress/{job.pk}", HTTP_ACCEPT=STRING_IDS, HTTP_AUTHORIZATION=f"Bearer {key}"
    )

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response.json()["id"] == str(job.pk)


def test_string_ids_reach_every_id_nested_in_results(api_client, tenant, key):
    creator = UserFactory()
    job = make_progress(tenant, State.QUEUED, user=creator, context_id=7)
    progress_start(job)
    results = {
        "id": 123,
        "course_id": 5,
        "student_ids": [1, 2, "x"],
        "paid": True,
        "grade_id": None,
        "items": [{"assignment_id": 9, "score": 10}],
        "identity": 4,
    }
    progress_complete(job, results=results)

    body = api_client.get(
        f"/api/v1/progress/{job.pk}", HTTP_ACCEPT=STRING_IDS, HTTP_AUTHORIZATION=f"Bearer {key}"
    ).json()

    assert (body["id"], body["context_id"], body["user_id"]) == (
        str(job.pk),
        "7",
        str(creator.pk),
    )
    assert body["results"] == {
        "id": "123",
        "course_id": "5",
        "student_ids": ["1", "2", "x"],
        "paid": True,
        "grade_id": None,
        "items": [{"assignment_id": "9", "score": 10}],
        "identity": 4,
    }


def test_string_ids_from_the_cache_match_the_full_path_byte_for_byte(api_client, job, key):
    headers = {"HTTP_ACCEPT": STRING_IDS, "HTTP_AUTHORIZATION": f"Bearer {key}"}
    first = api_client.get(f"/api/v1/progress/{job.pk}", **headers)
    again = api_client.get(f"/api/v1/progress/{job.pk}", **headers)

    assert again.content == first.content
    assert again["Content-Type"] == first["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(again.content)["id"] == str(job.pk)


def test_an_unknown_route_answers_json_whatever_accept_says(api_client):
    response = api_client.get("/api/v1/progress/1/foo", HTTP_ACCEPT="text/html")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == {"errors": [{"message": "The specified resource does not exist."}]}
