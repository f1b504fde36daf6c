import json
import re
from http import HTTPStatus

import pytest
from django.utils import timezone

from async_status.family import ASYNC_STATUS_READ
from progress.family import PROGRESS_CANCEL
from progress.models import Progress
from tenancy.models import ApiToken
from tests.factories import UserFactory
from tests.progress.factories import make_progress

pytestmark = pytest.mark.django_db

State = Progress.State
KEYS = [
    "id",
    "context_id",
    "context_type",
    "user_id",
    "tag",
    "completion",
    "workflow_state",
    "created_at",
    "updated_at",
    "message",
    "url",
]
CANVAS_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
UNAUTHENTICATED = {
    "status": "unauthenticated",
    "errors": [{"message": "user authorization required"}],
}
UNAUTHORIZED = {
    "status": "unauthorized",
    "errors": [{"message": "user not authorized to perform that action"}],
}
NOT_FOUND = {"errors": [{"message": "The specified resource does not exist."}]}


def show(api_client, progress_or_id, headers):
    pk = getattr(progress_or_id, "pk", progress_or_id)
    return api_client.get(f"/api/v1/progress/{pk}", **headers)


def test_show_renders_canvas_keys_in_order_with_exact_values(api_client, tenant, reader):
    creator = UserFactory()
    progress = make_progress(
        tenant,
        State.RUNNING,
        completion=55,
        user=creator,
        tag="course_batch_update",
        context_type="Account",
        context_id=7,
        message="hello",
    )

    response = show(api_client, progress, reader)

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert list(body) == KEYS
    assert body == {
        "id": progress.pk,
        "context_id": 7,
        "context_type": "Account",
        "user_id": creator.pk,
        "tag": "course_batch_update",
        "completion": 55.0,
        "workflow_state": "running",
        "created_at": progress.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "updated_at": progress.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "message": "hello",
        "url": f"http://testserver/api/v1/progress/{progress.pk}",
    }


def test_completion_is_a_json_float_and_timestamps_whole_utc_seconds(api_client, tenant, reader):
    progress = make_progress(tenant, State.COMPLETED)

    response = show(api_client, progress, reader)

    assert b'"completion":100.0' in response.content
    assert CANVAS_TIME.fullmatch(response.json()["created_at"])
    assert CANVAS_TIME.fullmatch(response.json()["updated_at"])


def test_fresh_job_has_null_completion_user_and_message(api_client, tenant, reader):
    progress = make_progress(tenant, State.QUEUED)

    body = show(api_client, progress, reader).json()

    assert list(body) == KEYS
    assert (body["completion"], body["user_id"], body["message"]) == (None, None, None)
    assert body["workflow_state"] == "queued"


@pytest.mark.parametrize(
    ("state", "has_results"),
    [
        (State.QUEUED, False),
        (State.RUNNING, False),
        (State.WAITING_FOR_EXTERNAL_TOOL, False),
        (State.COMPLETED, True),
        (State.FAILED, True),
    ],
)
def test_results_appear_last_only_once_the_job_finished(
    api_client, tenant, reader, state, has_results
):
    progress = make_progress(tenant, state, results={"id": 123})

    body = show(api_client, progress, reader).json()

    assert body["workflow_state"] == state
    if has_results:
        assert list(body) == [*KEYS, "results"]
        assert body["results"] == {"id": 123}
    else:
        assert list(body) == KEYS


@pytest.mark.parametrize("state", Progress.FINISHED_STATES)
def test_results_are_omitted_not_null_when_a_finished_job_has_none(
    api_client, tenant, reader, state
):
    progress = make_progress(tenant, state)

    body = show(api_client, progress, reader).json()

    assert "results" not in body
    assert body["workflow_state"] == state


def test_results_set_on_a_pending_job_are_not_rendered(rf, tenant):
    from progress.serializers import ProgressSerializer

    pending = Progress(pk=1, tenant=tenant, workflow_state=State.RUNNING, results={"id": 1})
    pending.created_at = pending.updated_at = timezone.now()

    body = ProgressSerializer(pending, context={"request": rf.get("/")}).data

    assert "results" not in body


@pytest.mark.parametrize("results", [[1, 2], "done", 7, {"nested": {"a": [None]}}])
def test_results_are_returned_as_stored(api_client, tenant, reader, results):
    progress = make_progress(tenant, State.COMPLETED, results=results)

    assert show(api_client, progress, reader).json()["results"] == results


def test_waiting_and_canceled_states_are_rendered(api_client, tenant, reader):
    waiting = make_progress(tenant, State.WAITING_FOR_EXTERNAL_TOOL)
    canceled = make_progress(tenant, State.CANCELED)

    assert show(api_client, waiting, reader).json()["workflow_state"] == "waiting_for_external_tool"
    assert show(api_client, canceled, reader).json()["workflow_state"] == "canceled"


def test_url_is_absolute_and_follows_the_request_host_and_scheme(api_client, job, reader):
    response = api_client.get(
        f"/api/v1/progress/{job.pk}", HTTP_HOST="localhost", secure=True, **reader
    )

    assert response.json()["url"] == f"https://localhost/api/v1/progress/{job.pk}"


def test_trailing_slash_is_accepted(api_client, job, reader):
    response = api_client.get(f"/api/v1/progress/{job.pk}/", **reader)

    assert response.status_code == HTTPStatus.OK
    assert response.json()["id"] == job.pk


def test_x_auth_token_and_session_also_authenticate(
    api_client, job, tenant, make_member, make_token
):
    user = make_member(tenant, "read-only")
    raw_key = make_token(user, tenant)
    user.save()  # the factory's password is set after its last save; force_login needs it stored

    assert show(api_client, job, {"HTTP_X_AUTH_TOKEN": raw_key}).status_code == HTTPStatus.OK
    api_client.force_login(user)
    assert show(api_client, job, {}).status_code == HTTPStatus.OK


def test_reader_who_is_not_the_creator_sees_results(api_client, tenant, reader):
    progress = make_progress(tenant, State.COMPLETED, user=UserFactory(), results={"id": 5})

    assert show(api_client, progress, reader).json()["results"] == {"id": 5}


# Errors: 401, 403, 404, in Canvas' bodies.


def test_show_without_credentials_is_401_with_www_authenticate(api_client, job):
    response = show(api_client, job, {})

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == UNAUTHENTICATED
    assert response["WWW-Authenticate"] == 'Bearer realm="canvas-lms"'


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (None, "Invalid access token."),
        ("expire", "Expired access token."),
        ("revoke", "Revoked access token."),
    ],
)
def test_bad_tokens_are_401_with_canvas_messages(
    api_client, job, tenant, make_member, make_token, mutate, message
):
    raw_key = make_token(make_member(tenant, "read-only"), tenant)
    if mutate == "expire":
        ApiToken.objects.update(expires_at=timezone.now())
    elif mutate == "revoke":
        ApiToken.objects.update(revoked_at=timezone.now())
    else:
        raw_key = "jd_not-a-key"

    response = show(api_client, job, {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"})

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == {"errors": [{"message": message}]}
    assert response["WWW-Authenticate"] == 'Bearer realm="canvas-lms"'


@pytest.mark.parametrize("scopes", [[ASYNC_STATUS_READ], [PROGRESS_CANCEL]])
def test_token_without_progress_read_is_403(api_client, job, bearer, tenant, scopes):
    response = show(api_client, job, bearer(tenant, "admin", scopes=scopes))

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json() == UNAUTHORIZED


def test_member_whose_role_lacks_progress_read_is_403(api_client, job, bearer, tenant):
    headers = bearer(tenant, "async-only", permissions=[ASYNC_STATUS_READ])

    response = show(api_client, job, headers)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json() == UNAUTHORIZED


def test_unknown_id_is_404(api_client, job, reader):
    response = show(api_client, job.pk + 1000, reader)

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == NOT_FOUND


def test_unknown_id_without_credentials_is_401_not_404(api_client):
    # Canvas looks the job up before authenticating; jobdesk never tells strangers what exists.
    response = show(api_client, 999, {})

    assert response.status_code == HTTPStatus.UNAUTHORIZED


def test_unknown_routes_under_the_prefix_answer_in_canvas_envelope(api_client, job, reader):
    response = api_client.get(f"/api/v1/progress/{job.pk}/nope", **reader)

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == NOT_FOUND


def test_post_to_show_is_405_in_canvas_envelope(api_client, job, reader):
    response = api_client.post(f"/api/v1/progress/{job.pk}", **reader)

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response.json() == {"errors": [{"message": 'Method "POST" not allowed.'}]}


@pytest.mark.parametrize(
    "accept",
    [
        "application/json+canvas-string-ids",
        "application/json+canvas-string-ids, application/json, text/plain, */*",
    ],
)
def test_canvas_string_ids_are_rendered_on_request(api_client, tenant, reader, accept):
    creator = UserFactory()
    progress = make_progress(tenant, State.RUNNING, user=creator, context_id=7)

    response = api_client.get(f"/api/v1/progress/{progress.pk}", HTTP_ACCEPT=accept, **reader)

    assert response.status_code == HTTPStatus.OK
    body = json.loads(response.content)
    assert (body["id"], body["context_id"], body["user_id"]) == (
        str(progress.pk),
        "7",
        str(creator.pk),
    )


def test_string_ids_keep_a_null_user_null(api_client, job, reader):
    response = api_client.get(
        f"/api/v1/progress/{job.pk}", HTTP_ACCEPT="application/json+canvas-string-ids", **reader
    )

    assert json.loads(response.content)["user_id"] is None


@pytest.mark.parametrize(
    "accept",
    ["text/csv", "text/html", "text/plain", "application/xml", "application/vnd.api+json", ""],
)
def test_any_accept_header_gets_the_json_canvas_renders(api_client, job, reader, accept):
    plain = api_client.get(f"/api/v1/progress/{job.pk}", **reader)

    response = api_client.get(f"/api/v1/progress/{job.pk}", HTTP_ACCEPT=accept, **reader)

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "application/json"
    assert response.content == plain.content
