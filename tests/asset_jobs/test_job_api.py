import re
from datetime import UTC, datetime, timedelta
from http import HTTPStatus

import pytest
from django.http import Http404
from django.utils import timezone
from rest_framework import exceptions

from asset_jobs.errors import roma_exception_handler
from asset_jobs.models import AssetJob
from asset_jobs.services import asset_job_cancel, asset_job_fail
from jobs.parsers import BodyTooLarge
from tenancy.models import ApiToken, Tenant
from tenancy.services import token_revoke
from tests.asset_jobs.factories import (
    REASON,
    InstanceFactory,
    make_export_with_package,
    make_job,
    reload,
)
from tests.asset_jobs.helpers import ENVELOPE_KEYS, REQUEST_ID, assert_roma_error, job_url
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

State = AssetJob.State


def test_running_job_has_exactly_the_roma_fields_in_order(api_client, instance, x_auth):
    job = make_job(instance, type=AssetJob.Type.EXPORT, progress=0.35)
    AssetJob.objects.across_tenants().filter(pk=job.pk).update(
        begin_time=datetime(2019, 12, 6, 6, 49, 4, 123456, tzinfo=UTC)
    )

    response = api_client.get(job_url(job), **x_auth(instance.tenant))

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {
        "id": job.pk,
        "type": "exportAsset",
        "status": "Running",
        "reasons": [],
        "progress_percent": 0.35,
        "begin_time": "2019-12-06T06:49:04Z",
        "end_time": None,
    }
    assert list(response.json()) == [
        "id",
        "type",
        "status",
        "reasons",
        "progress_percent",
        "begin_time",
        "end_time",
    ]
    assert REQUEST_ID.fullmatch(response["X-Request-Id"])


def test_successful_export_shows_its_archive_id_while_downloadable(api_client, instance, x_auth):
    job = make_export_with_package(instance)

    body = api_client.get(job_url(job), **x_auth(instance.tenant)).json()

    assert list(body) == [
        "id",
        "type",
        "status",
        "reasons",
        "progress_percent",
        "archive_id",
        "begin_time",
        "end_time",
    ]
    assert body["status"] == "Success"
    assert body["archive_id"] == reload(job).archive_id
    assert body["progress_percent"] == 1.0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["end_time"])


def test_end_time_is_utc_whole_seconds(api_client, instance, x_auth):
    job = make_job(instance, State.FAILED)
    AssetJob.objects.across_tenants().filter(pk=job.pk).update(
        end_time=datetime(2019, 12, 6, 8, 50, 4, 999999, tzinfo=timezone.get_fixed_timezone(120))
    )

    body = api_client.get(job_url(job), **x_auth(instance.tenant)).json()

    assert body["end_time"] == "2019-12-06T06:50:04Z"


def test_failed_job_lists_its_reasons_in_order(api_client, instance, x_auth):
    job = make_job(instance)
    second = {**REASON, "resource_type": "task", "resource_name": "sync-task"}
    asset_job_fail(job, reasons=[REASON, second])

    body = api_client.get(job_url(job), **x_auth(instance.tenant)).json()

    assert body["status"] == "Failed"
    assert body["reasons"] == [REASON, second]
    assert "archive_id" not in body


@pytest.mark.parametrize(
    ("state", "job_type"),
    [
        (State.SUCCESS, AssetJob.Type.IMPORT),
        (State.SUCCESS, AssetJob.Type.DELETE),
        (State.FINISHED, AssetJob.Type.EXPORT),
        (State.FAILED, AssetJob.Type.EXPORT),
    ],
)
def test_archive_id_is_absent_without_a_downloadable_package(
    api_client, instance, x_auth, state, job_type
):
    job = make_job(instance, state, type=job_type)

    body = api_client.get(job_url(job), **x_auth(instance.tenant)).json()

    assert body["status"] == state
    assert "archive_id" not in body


def test_cancelled_job_reads_as_failed_with_the_cancel_reason(
    api_client, instance, x_auth, make_member
):
    job = make_job(instance)
    asset_job_cancel(job, actor=make_member(instance.tenant, username="olga"))

    body = api_client.get(job_url(job), **x_auth(instance.tenant)).json()

    assert body["status"] == "Failed"
    assert body["reasons"] == [
        {
            "resource_type": "task",
            "resource_name": "importAsset",
            "error_code": "ROMA.JOBDESK.CANCELLED",
            "error_msg": "Cancelled by olga.",
        }
    ]


@pytest.mark.parametrize("role", ["admin", "operations", "read-only"])
def test_every_seeded_role_reads_jobs(api_client, instance, x_auth, role):
    job = make_job(instance)

    response = api_client.get(job_url(job), **x_auth(instance.tenant, role))

    assert response.status_code == HTTPStatus.OK


def test_bearer_token_and_session_also_authenticate(
    api_client, instance, bearer, make_member, login
):
    job = make_job(instance)
    client = login(make_member(instance.tenant, "read-only"))

    assert api_client.get(job_url(job), **bearer(instance.tenant)).status_code == HTTPStatus.OK
    assert client.get(job_url(job)).status_code == HTTPStatus.OK


def test_superuser_session_reads_any_tenants_job(login, instance, other_instance):
    client = login(UserFactory(is_superuser=True, is_staff=True))

    for job in (make_job(instance), make_job(other_instance)):
        assert client.get(job_url(job)).status_code == HTTPStatus.OK


def test_head_returns_the_headers_of_a_read(api_client, instance, x_auth):
    job = make_job(instance)

    response = api_client.head(job_url(job), **x_auth(instance.tenant))

    assert response.status_code == HTTPStatus.OK
    assert REQUEST_ID.fullmatch(response["X-Request-Id"])


# Errors: authentication (401), permission (403), scoping, not found (404), bad input (400).


def test_missing_token_is_401_roma_1000(api_client, instance):
    job = make_job(instance)

    response = api_client.get(job_url(job))

    assert_roma_error(
        response, HTTPStatus.UNAUTHORIZED, "ROMA.1000", "No token is available in the request."
    )
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_X_AUTH_TOKEN": "jd_not-a-real-key"},
        {"HTTP_X_AUTH_TOKEN": ""},
        {"HTTP_X_AUTH_TOKEN": "x" * 100_000},
        {"HTTP_X_AUTH_TOKEN": "jd_\x01\x02"},
        {"HTTP_AUTHORIZATION": "Bearer nope"},
    ],
    ids=["unknown", "empty", "huge", "control-chars", "bearer-unknown"],
)
def test_junk_token_is_401_roma_1002(api_client, instance, headers):
    job = make_job(instance)

    response = api_client.get(job_url(job), **headers)

    body = assert_roma_error(
        response, HTTPStatus.UNAUTHORIZED, "ROMA.1002", "Incorrect token in the request."
    )
    assert body["error_details"] == "The token is unknown or malformed."


def test_expired_and_revoked_tokens_are_401_roma_1002_saying_why(api_client, instance, x_auth):
    job = make_job(instance)
    expired, revoked = x_auth(instance.tenant), x_auth(instance.tenant)
    tokens = ApiToken.objects.order_by("pk")
    tokens.filter(pk=tokens[0].pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    token_revoke(token=tokens[1])

    expired_body = assert_roma_error(
        api_client.get(job_url(job), **expired), HTTPStatus.UNAUTHORIZED, "ROMA.1002"
    )
    revoked_body = assert_roma_error(
        api_client.get(job_url(job), **revoked), HTTPStatus.UNAUTHORIZED, "ROMA.1002"
    )

    assert expired_body["error_details"] == "The token has expired."
    assert revoked_body["error_details"] == "The token has been revoked."


def test_token_without_asset_job_read_is_403_roma_1006(api_client, instance, x_auth):
    job = make_job(instance)
    headers = x_auth(instance.tenant, "progress-only", permissions=["PROGRESS:READ"])

    response = api_client.get(job_url(job), **headers)

    assert_roma_error(
        response,
        HTTPStatus.FORBIDDEN,
        "ROMA.1006",
        "You do not have the permissions required to perform this operation.",
    )


def test_token_scoped_away_from_asset_jobs_is_403(api_client, instance, x_auth):
    job = make_job(instance)

    response = api_client.get(
        job_url(job), **x_auth(instance.tenant, "admin", scopes=["PROGRESS:READ"])
    )

    assert_roma_error(response, HTTPStatus.FORBIDDEN, "ROMA.1006")


@pytest.mark.parametrize("project", ["other-tenants", "unknown"])
def test_a_project_the_token_does_not_belong_to_is_403_whether_or_not_it_exists(
    api_client, instance, other_instance, x_auth, project
):
    job = make_job(instance)
    project_id = other_instance.tenant.project_id if project == "other-tenants" else "nope"

    response = api_client.get(job_url(job, project_id=project_id), **x_auth(instance.tenant))

    body = assert_roma_error(response, HTTPStatus.FORBIDDEN, "ROMA.1006")
    assert body["error_details"] == f"You may not read asset jobs of project {project_id}."


def test_session_member_of_one_tenant_gets_403_on_the_other_project(
    login, instance, other_instance, make_member
):
    client = login(make_member(instance.tenant, "read-only"))
    other_job = make_job(other_instance)

    response = client.get(job_url(other_job))

    assert_roma_error(response, HTTPStatus.FORBIDDEN, "ROMA.1006")


def test_inactive_tenants_project_is_403_for_a_session(login, instance, make_member):
    client = login(make_member(instance.tenant, "read-only"))
    job = make_job(instance)
    Tenant.objects.filter(pk=instance.tenant_id).update(is_active=False)

    assert_roma_error(client.get(job_url(job)), HTTPStatus.FORBIDDEN, "ROMA.1006")


def test_unknown_instance_is_404_roma_00014002(api_client, instance, x_auth):
    job = make_job(instance)

    response = api_client.get(
        job_url(job, instance_id="no-such-instance"), **x_auth(instance.tenant)
    )

    assert_roma_error(response, HTTPStatus.NOT_FOUND, "ROMA.00014002", "instance not found")


def test_unknown_job_is_404_roma_00110006(api_client, instance, x_auth):
    job = make_job(instance)

    response = api_client.get(job_url(job, job_id="0" * 32), **x_auth(instance.tenant))

    assert_roma_error(
        response, HTTPStatus.NOT_FOUND, "ROMA.00110006", "The resource does not exist."
    )


def test_job_of_another_instance_in_the_same_project_is_404(api_client, instance, x_auth):
    sibling = InstanceFactory(tenant=instance.tenant, instance_id="sibling")
    job = make_job(sibling)

    response = api_client.get(
        job_url(job, instance_id=instance.instance_id), **x_auth(instance.tenant)
    )

    assert_roma_error(response, HTTPStatus.NOT_FOUND, "ROMA.00110006")


def test_other_tenants_job_under_own_project_is_404_and_unchanged(
    api_client, instance, other_instance, x_auth
):
    other_job = make_job(other_instance, progress=0.3)
    before = reload(other_job)

    response = api_client.get(
        job_url(other_job, project_id=instance.tenant.project_id, instance_id=instance.instance_id),
        **x_auth(instance.tenant),
    )

    assert_roma_error(response, HTTPStatus.NOT_FOUND, "ROMA.00110006")
    after = reload(other_job)
    assert (after.status, after.progress_percent, after.updated_at) == (
        before.status,
        before.progress_percent,
        before.updated_at,
    )


def test_other_tenants_instance_id_under_own_project_is_an_unknown_instance(
    api_client, instance, other_instance, x_auth
):
    other_job = make_job(other_instance)

    response = api_client.get(
        job_url(other_job, project_id=instance.tenant.project_id), **x_auth(instance.tenant)
    )

    assert_roma_error(response, HTTPStatus.NOT_FOUND, "ROMA.00014002")


@pytest.mark.parametrize(
    ("part", "value"),
    [
        ("project_id", ""),
        ("instance_id", ""),
        ("job_id", ""),
        ("project_id", "p" * 65),
        ("instance_id", "i" * 65),
        ("job_id", "a" * 65),
        ("job_id", "a" * 10_000),
        ("job_id", "A" * 32),
        ("job_id", "0" * 31),
        ("job_id", "0" * 33),
        ("job_id", "g" * 32),
        ("job_id", "-1"),
        ("job_id", "1.5"),
        ("job_id", ".."),
        ("instance_id", ".."),
        ("instance_id", "%2e%2e"),
        ("instance_id", "a%00b"),
        ("instance_id", "a%0Ab"),
        ("instance_id", "caf%C3%A9"),
        ("project_id", "%3Cscript%3E"),
        ("project_id", "x%20y"),
        ("job_id", "%ff%fe"),
    ],
)
def test_malformed_path_parameters_are_400_roma_13000(api_client, instance, x_auth, part, value):
    job = make_job(instance)

    response = api_client.get(job_url(job, **{part: value}), **x_auth(instance.tenant))

    body = assert_roma_error(response, HTTPStatus.BAD_REQUEST, "ROMA.13000", "Invalid parameters.")
    assert part in body["error_details"]


def test_malformed_parameters_of_an_unauthenticated_request_are_401_first(api_client, instance):
    job = make_job(instance)

    response = api_client.get(job_url(job, job_id="x" * 65))

    assert_roma_error(response, HTTPStatus.UNAUTHORIZED, "ROMA.1000")


@pytest.mark.parametrize(
    "path",
    [
        "/v2",
        "/v2/",
        "/v2/anything",
        "/v2/p/instances/i/assets",
        "/v2/p/instances/i/assets/jobs/0/extra",
        "/v2/p/instances/i/assets/rename",
        "/v2/p/../../admin/",
        "/v2/p/instances/i/assets/jobs/%2e%2e%2f%2e%2e%2fadmin",
        "/v2/p/instances/i/assets/jobs/a%2Fb",
    ],
)
def test_unknown_urls_under_v2_are_404_roma_1007(api_client, path):
    response = api_client.get(path)

    assert_roma_error(response, HTTPStatus.NOT_FOUND, "ROMA.1007", "Invalid request URL.")


@pytest.mark.parametrize("method", ["post", "patch", "delete", "options"])
def test_other_methods_are_405_in_the_roma_envelope_and_change_nothing(
    api_client, instance, x_auth, method
):
    job = make_job(instance, progress=0.1)

    response = getattr(api_client, method)(job_url(job), **x_auth(instance.tenant))

    assert_roma_error(response, HTTPStatus.METHOD_NOT_ALLOWED, "ROMA.1007")
    assert reload(job).status == State.RUNNING
    assert AssetJob.objects.across_tenants().count() == 1


@pytest.mark.parametrize(
    ("exc", "status", "error_code"),
    [
        (BodyTooLarge(), HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "ROMA.13000"),
        (
            exceptions.UnsupportedMediaType("text/csv"),
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "ROMA.13000",
        ),
        (exceptions.ParseError(), HTTPStatus.BAD_REQUEST, "ROMA.13000"),
        (exceptions.ValidationError({"limit": ["bad"]}), HTTPStatus.BAD_REQUEST, "ROMA.13000"),
        (exceptions.NotFound(), HTTPStatus.NOT_FOUND, "ROMA.00110006"),
        (Http404(), HTTPStatus.NOT_FOUND, "ROMA.00110006"),
        (exceptions.Throttled(wait=5), HTTPStatus.TOO_MANY_REQUESTS, "APIGW.0308"),
        (exceptions.APIException(), HTTPStatus.INTERNAL_SERVER_ERROR, "APIC.9000"),
    ],
)
def test_every_drf_error_becomes_the_roma_envelope(exc, status, error_code):
    response = roma_exception_handler(exc, {"view": None})

    assert response.status_code == status
    assert list(response.data) == ENVELOPE_KEYS
    assert response.data["error_code"] == error_code
    assert response["X-Request-Id"] == response.data["request_id"]
    assert 1 <= len(response.data["error_details"]) <= 128


def test_throttled_errors_say_when_to_retry():
    response = roma_exception_handler(exceptions.Throttled(wait=5), {})

    assert response["Retry-After"] == "5"


def test_error_details_are_cut_to_128_characters():
    response = roma_exception_handler(exceptions.ValidationError("x" * 500), {})

    assert len(response.data["error_details"]) == 128


def test_one_job_read_costs_at_most_three_queries(
    api_client, instance, x_auth, django_assert_max_num_queries
):
    job = make_job(instance)
    asset_job_fail(job, reasons=[REASON, REASON])
    headers, url = x_auth(instance.tenant), job_url(job)

    with django_assert_max_num_queries(3):
        response = api_client.get(url, **headers)

    assert response.status_code == HTTPStatus.OK
    assert len(response.json()["reasons"]) == 2


def test_each_response_gets_its_own_request_id(api_client, instance, x_auth):
    job = make_job(instance)
    headers = x_auth(instance.tenant)

    first = api_client.get(job_url(job), **headers)["X-Request-Id"]
    second = api_client.get(job_url(job), **headers)["X-Request-Id"]
    error = api_client.get(job_url(job, job_id="0" * 32), **headers)

    assert len({first, second, error["X-Request-Id"]}) == 3
    assert error.json()["request_id"] == error["X-Request-Id"]


def test_another_tenants_cached_job_under_my_own_project_is_not_found(
    api_client, instance, other_instance, x_auth
):
    theirs = make_job(other_instance)
    their_read = api_client.get(job_url(theirs), **x_auth(other_instance.tenant))
    assert their_read.status_code == HTTPStatus.OK  # now cached

    path = (
        f"/v2/{instance.tenant.project_id}/instances/{instance.instance_id}/assets/jobs/{theirs.pk}"
    )
    response = api_client.get(path, **x_auth(instance.tenant))

    assert response.status_code == HTTPStatus.NOT_FOUND
