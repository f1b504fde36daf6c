import json
from http import HTTPStatus

import pytest
from django.test import override_settings

from progress.family import PROGRESS_CANCEL
from progress.models import Progress
from tests.progress.factories import make_progress

pytestmark = pytest.mark.django_db

State = Progress.State
UNAUTHORIZED = {
    "status": "unauthorized",
    "errors": [{"message": "user not authorized to perform that action"}],
}


def cancel(api_client, progress, headers, data=None, content_type=None, **extra):
    pk = getattr(progress, "pk", progress)
    if data is None:
        return api_client.post(f"/api/v1/progress/{pk}/cancel", **headers, **extra)
    return api_client.generic(
        "POST", f"/api/v1/progress/{pk}/cancel", data, content_type, **headers, **extra
    )


def stored(progress: Progress) -> Progress:
    return Progress.objects.across_tenants().get(pk=progress.pk)


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("message=user+cancelled", "application/x-www-form-urlencoded"),
        (json.dumps({"message": "user cancelled"}), "application/json"),
        (json.dumps({"message": "user cancelled"}), "application/json; charset=utf-8"),
    ],
)
def test_cancel_fails_a_pending_job_with_the_posted_message(
    api_client, job, operator, data, content_type
):
    response = cancel(api_client, job, operator, data, content_type)

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert (body["workflow_state"], body["message"]) == ("failed", "user cancelled")
    assert body["url"] == f"http://testserver/api/v1/progress/{job.pk}"
    assert (stored(job).workflow_state, stored(job).message) == (State.FAILED, "user cancelled")


def test_cancel_reads_a_multipart_message(api_client, job, operator):
    response = api_client.post(
        f"/api/v1/progress/{job.pk}/cancel", {"message": "via multipart"}, **operator
    )

    assert response.status_code == HTTPStatus.OK
    assert stored(job).message == "via multipart"


def test_cancel_reads_message_from_the_query_string_as_rails_does(api_client, job, operator):
    response = cancel(api_client, f"{job.pk}", operator, QUERY_STRING="message=from+query")

    assert response.status_code == HTTPStatus.OK
    assert stored(job).message == "from query"


def test_cancel_without_a_body_clears_the_message_and_bumps_updated_at(
    api_client, tenant, operator
):
    job = make_progress(tenant, State.RUNNING, message="working")
    before = stored(job).updated_at

    response = cancel(api_client, job, operator)

    assert response.status_code == HTTPStatus.OK
    assert response.json()["message"] is None
    assert stored(job).message is None
    assert stored(job).updated_at > before


def test_cancel_returns_results_of_a_failed_job_when_it_has_any(api_client, tenant, operator):
    job = make_progress(tenant, State.FAILED, results={"error_report_id": 3})

    assert cancel(api_client, job, operator).json()["results"] == {"error_report_id": 3}


@pytest.mark.parametrize("state", Progress.FINISHED_STATES)
def test_cancel_of_a_finished_job_is_200_and_leaves_it_unchanged(
    api_client, tenant, operator, snapshot, state
):
    job = make_progress(tenant, state, results={"id": 1}, message="done")
    before = snapshot(job)

    response = cancel(
        api_client, job, operator, "message=too+late", "application/x-www-form-urlencoded"
    )

    assert response.status_code == HTTPStatus.OK
    assert response.json()["workflow_state"] == state
    assert response.json()["message"] == "done"
    assert snapshot(job) == before


def test_creator_may_cancel_with_read_only_role(api_client, tenant, make_member, make_token):
    creator = make_member(tenant, "read-only")
    job = make_progress(tenant, State.RUNNING, user=creator)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {make_token(creator, tenant)}"}

    response = cancel(api_client, job, headers)

    assert response.status_code == HTTPStatus.OK
    assert stored(job).workflow_state == State.FAILED


@pytest.mark.parametrize("creator", [False, True], ids=["someone_elses_job", "job_without_user"])
def test_reader_who_did_not_start_the_job_gets_403_and_job_keeps_running(
    api_client, tenant, reader, snapshot, make_member, creator
):
    job = make_progress(tenant, State.RUNNING, user=make_member(tenant) if creator else None)
    before = snapshot(job)

    response = cancel(api_client, job, reader)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json() == UNAUTHORIZED
    assert snapshot(job) == before


def test_token_scoped_to_cancel_alone_is_403_because_it_cannot_read(
    api_client, job, bearer, tenant, snapshot
):
    before = snapshot(job)

    response = cancel(api_client, job, bearer(tenant, "operations", scopes=[PROGRESS_CANCEL]))

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert snapshot(job) == before


def test_cancel_without_credentials_is_401(api_client, job, snapshot):
    before = snapshot(job)

    response = cancel(api_client, job, {})

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response["WWW-Authenticate"] == 'Bearer realm="canvas-lms"'
    assert snapshot(job) == before


def test_session_cancel_needs_the_csrf_token(api_client, job, tenant, make_member, snapshot):
    user = make_member(tenant, "operations")
    user.save()  # store the factory's password so the session stays valid
    client = type(api_client)(enforce_csrf_checks=True)
    client.force_login(user)
    before = snapshot(job)

    response = client.post(f"/api/v1/progress/{job.pk}/cancel")

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["status"] == "unauthorized"
    assert snapshot(job) == before


def test_get_on_cancel_is_405_in_canvas_envelope(api_client, job, operator):
    response = api_client.get(f"/api/v1/progress/{job.pk}/cancel", **operator)

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response.json() == {"errors": [{"message": 'Method "GET" not allowed.'}]}


# Bad bodies: a 4xx Canvas envelope with a useful message, and nothing changed.


@pytest.mark.parametrize(
    ("data", "content_type", "status", "fragment"),
    [
        ("{not json", "application/json", HTTPStatus.BAD_REQUEST, "JSON parse error"),
        ('["message"]', "application/json", HTTPStatus.BAD_REQUEST, "JSON object"),
        ('"message"', "application/json", HTTPStatus.BAD_REQUEST, "JSON object"),
        ('{"message": 5}', "application/json", HTTPStatus.BAD_REQUEST, "message: Must be a string"),
        ('{"message": {"a": 1}}', "application/json", HTTPStatus.BAD_REQUEST, "message:"),
        ("message=x", "text/plain", HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "text/plain"),
        ("<message/>", "application/xml", HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "application/xml"),
        ("\xff\xfe", "application/json", HTTPStatus.BAD_REQUEST, "JSON parse error"),
        ("--x\r\nbroken", "multipart/form-data", HTTPStatus.BAD_REQUEST, "Multipart"),
    ],
)
def test_bad_bodies_are_4xx_canvas_errors_and_change_nothing(
    api_client, job, operator, snapshot, data, content_type, status, fragment
):
    before = snapshot(job)

    response = cancel(api_client, job, operator, data, content_type)

    assert response.status_code == status
    body = response.json()
    assert list(body) == ["errors"]
    assert fragment in body["errors"][0]["message"]
    assert snapshot(job) == before


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/x-www-form-urlencoded", "multipart/form-data"]
)
@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_oversized_bodies_are_413_and_change_nothing(
    api_client, job, operator, snapshot, content_type
):
    before = snapshot(job)
    if content_type == "multipart/form-data":
        data = {"message": "x" * 4096}
        response = api_client.post(f"/api/v1/progress/{job.pk}/cancel", data, **operator)
    else:
        payload = (
            json.dumps({"message": "x" * 4096})
            if "json" in content_type
            else "message=" + "x" * 4096
        )
        response = cancel(api_client, job, operator, payload, content_type)

    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert response.json() == {"errors": [{"message": "The request body is too large."}]}
    assert snapshot(job) == before
