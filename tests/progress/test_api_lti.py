from http import HTTPStatus

import pytest
from django.utils import timezone

from async_status.family import ASYNC_STATUS_READ
from progress.family import LTI_PROGRESS_SHOW_SCOPE, PROGRESS_READ
from progress.models import Progress
from tenancy.models import ApiToken
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


def lti_show(api_client, progress, headers, course_id=42):
    return api_client.get(f"/api/lti/courses/{course_id}/progress/{progress.pk}", **headers)


def lti_error(error_type: str, message: str) -> dict:
    return {"errors": {"type": error_type, "message": message}}


def test_lti_show_renders_the_progress_with_the_lti_url(api_client, tenant, lti_tool):
    job = make_progress(tenant, State.COMPLETED, course_id=42, results={"id": 9})

    response = lti_show(api_client, job, lti_tool)

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert list(body) == [*KEYS, "results"]
    assert body["url"] == f"http://testserver/api/lti/courses/42/progress/{job.pk}"
    assert (body["workflow_state"], body["completion"], body["results"]) == (
        "completed",
        100.0,
        {"id": 9},
    )


def test_lti_show_omits_results_while_pending(api_client, job, lti_tool):
    body = lti_show(api_client, job, lti_tool).json()

    assert list(body) == KEYS
    assert body["workflow_state"] == "running"


def test_job_of_another_course_is_404(api_client, job, lti_tool, snapshot):
    response = lti_show(api_client, job, lti_tool, course_id=43)

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == lti_error("not_found", "The specified resource does not exist.")


def test_job_without_a_course_is_404_on_the_lti_route(api_client, tenant, lti_tool):
    job = make_progress(tenant, State.RUNNING)

    response = api_client.get(f"/api/lti/courses/{job.context_id}/progress/{job.pk}", **lti_tool)

    assert response.status_code == HTTPStatus.NOT_FOUND


def test_missing_token_is_401_missing_access_token(api_client, job):
    response = lti_show(api_client, job, {})

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == lti_error("unauthorized", "Missing access token")


def test_session_is_not_an_lti_credential(api_client, job, tenant, make_member):
    user = make_member(tenant, "admin")
    user.save()  # store the factory's password so the session stays valid
    api_client.force_login(user)

    response = lti_show(api_client, job, {})

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == lti_error("unauthorized", "Missing access token")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        ("unknown", "Access token invalid"),
        ("expire", "Access token expired"),
        ("revoke", "Access token revoked"),
    ],
)
def test_bad_tokens_are_401_in_the_lti_envelope(
    api_client, job, tenant, make_member, make_token, mutate, message
):
    from tests.progress.conftest import LTI_SCOPES

    raw_key = make_token(make_member(tenant, "read-only"), tenant, scopes=LTI_SCOPES)
    if mutate == "expire":
        ApiToken.objects.update(expires_at=timezone.now())
    elif mutate == "revoke":
        ApiToken.objects.update(revoked_at=timezone.now())
    else:
        raw_key += "x"

    response = lti_show(api_client, job, {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"})

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == lti_error("unauthorized", message)


@pytest.mark.parametrize(
    ("role", "scopes"),
    [
        # No scopes: the role's permissions, but a tool must be granted the LTI scope explicitly.
        ("admin", None),
        ("read-only", [PROGRESS_READ]),
        # Scopes narrow the role: the LTI scope alone leaves no PROGRESS:READ to read with.
        ("read-only", [LTI_PROGRESS_SHOW_SCOPE]),
        # The LTI scope on a role without PROGRESS:READ cannot add it.
        ("async-only", [LTI_PROGRESS_SHOW_SCOPE, PROGRESS_READ]),
    ],
    ids=["unscoped_admin", "read_scope_only", "lti_scope_only", "role_without_read"],
)
def test_token_without_lti_scope_and_progress_read_is_401_insufficient_permissions(
    api_client, job, bearer, tenant, role, scopes
):
    permissions = [ASYNC_STATUS_READ] if role == "async-only" else None
    headers = bearer(tenant, role, scopes=scopes, permissions=permissions)

    response = lti_show(api_client, job, headers)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == lti_error("unauthorized", "Insufficient permissions")


def test_x_auth_token_is_not_accepted_on_the_lti_route(
    api_client, job, tenant, make_member, make_token
):
    from tests.progress.conftest import LTI_SCOPES

    raw_key = make_token(make_member(tenant, "read-only"), tenant, scopes=LTI_SCOPES)

    response = lti_show(api_client, job, {"HTTP_X_AUTH_TOKEN": raw_key})

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == lti_error("unauthorized", "Missing access token")


def test_unknown_lti_routes_answer_in_the_lti_envelope(api_client, lti_tool):
    response = api_client.get("/api/lti/courses/42/nothing", **lti_tool)

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == lti_error("not_found", "The specified resource does not exist.")


def test_post_to_the_lti_route_is_405_in_the_lti_envelope(api_client, job, lti_tool):
    response = api_client.post(f"/api/lti/courses/42/progress/{job.pk}", **lti_tool)

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response.json() == lti_error("method_not_allowed", 'Method "POST" not allowed.')
