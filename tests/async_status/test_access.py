"""Who may read which async status: permissions, token scopes, tenants, query budget."""

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.utils import timezone

from asset_jobs.family import ASSET_JOB_READ
from async_status.family import ASYNC_STATUS_READ, ASYNC_STATUS_WRITE
from progress.family import PROGRESS_READ
from tenancy.models import ApiToken
from tenancy.services import membership_grant, membership_revoke, token_revoke
from tests.async_status.helpers import VERSIONS, snapshot
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

FORBIDDEN = {
    "alerts": [{"text": "missing required Permissions: ASYNC-STATUS:READ", "level": "error"}]
}
UNAUTHORIZED = {"alerts": [{"text": "unauthorized, please log in.", "level": "error"}]}


@pytest.mark.parametrize(
    ("role", "permissions", "scopes", "expected"),
    [
        ("admin", None, None, HTTPStatus.OK),
        ("admin", [], None, HTTPStatus.OK),
        ("operations", None, None, HTTPStatus.OK),
        ("read-only", None, None, HTTPStatus.FORBIDDEN),
        ("custom-reader", [ASYNC_STATUS_READ], None, HTTPStatus.OK),
        ("custom-other", [PROGRESS_READ, ASYNC_STATUS_WRITE], None, HTTPStatus.FORBIDDEN),
        ("operations", None, [ASYNC_STATUS_READ], HTTPStatus.OK),
        ("operations", None, [PROGRESS_READ], HTTPStatus.FORBIDDEN),
        ("admin", None, [ASSET_JOB_READ], HTTPStatus.FORBIDDEN),
        ("read-only", None, [ASYNC_STATUS_READ], HTTPStatus.FORBIDDEN),
    ],
    ids=[
        "admin",
        "admin-role-with-empty-list",
        "operations",
        "read-only",
        "custom-with-read",
        "custom-without-read",
        "token-scoped-to-read",
        "token-scoped-elsewhere",
        "admin-token-scoped-elsewhere",
        "scopes-never-widen",
    ],
)
def test_permission_matrix(api_client, tenant, bearer, job, role, permissions, scopes, expected):
    headers = bearer(tenant, role, scopes=scopes, permissions=permissions)

    response = api_client.get(f"/api/5.0/async_status/{job.pk}", **headers)

    assert response.status_code == expected
    if expected == HTTPStatus.FORBIDDEN:
        assert response.json() == FORBIDDEN
    else:
        assert response.json()["response"]["id"] == job.pk


def test_superuser_session_reads_any_tenants_job(api_client, make_job, other_tenant):
    other = make_job(other_tenant)
    api_client.force_login(UserFactory(is_superuser=True))

    response = api_client.get(f"/api/4.0/async_status/{other.pk}")

    assert response.status_code == HTTPStatus.OK


def test_session_reads_jobs_of_every_tenant_where_the_role_allows(
    api_client, tenant, other_tenant, make_member, make_job
):
    user = make_member(tenant, "operations")
    membership_grant(user=user, tenant=other_tenant, role_name="read-only")
    own, elsewhere = make_job(tenant), make_job(other_tenant)
    api_client.force_login(user)

    assert api_client.get(f"/api/5.0/async_status/{own.pk}").status_code == HTTPStatus.OK
    assert (
        api_client.get(f"/api/5.0/async_status/{elsewhere.pk}").status_code == HTTPStatus.NOT_FOUND
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_other_tenants_job_is_404_like_a_missing_one_and_unchanged(
    api_client, tenant, other_tenant, bearer, make_job, version
):
    own, other = make_job(tenant), make_job(other_tenant)
    before = snapshot(other)
    headers = bearer(tenant, "admin")

    assert api_client.get(f"/api/{version}/async_status/{own.pk}", **headers).status_code == 200
    response = api_client.get(f"/api/{version}/async_status/{other.pk}", **headers)

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == {"alerts": [{"text": "Not Found", "level": "error"}]}
    assert snapshot(other) == before


def test_a_token_acts_only_in_its_own_tenant_even_for_a_member_of_both(
    api_client, tenant, other_tenant, make_member, make_token, make_job
):
    user = make_member(tenant, "operations")
    membership_grant(user=user, tenant=other_tenant, role_name="operations")
    other = make_job(other_tenant)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {make_token(user, tenant)}"}

    response = api_client.get(f"/api/5.0/async_status/{other.pk}", **headers)

    assert response.status_code == HTTPStatus.NOT_FOUND


@pytest.mark.parametrize("header", ["Bearer nope", "Bearer ", "Bearer " + "x" * 10_000])
def test_bad_tokens_are_401_unauthorized(api_client, job, header):
    response = api_client.get(f"/api/5.0/async_status/{job.pk}", HTTP_AUTHORIZATION=header)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == UNAUTHORIZED


@pytest.mark.parametrize("spoil", ["expire", "revoke", "drop-membership", "deactivate-user"])
def test_expired_revoked_or_orphaned_tokens_are_401_or_403(
    api_client, tenant, make_member, make_token, job, spoil
):
    user = make_member(tenant, "operations")
    raw_key = make_token(user, tenant)
    token = ApiToken.objects.get(user=user)
    if spoil == "expire":
        ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(1))
    elif spoil == "revoke":
        token_revoke(token=token)
    elif spoil == "drop-membership":
        membership_revoke(user=user, tenant=tenant)
    else:
        user.is_active = False
        user.save()

    response = api_client.get(
        f"/api/5.0/async_status/{job.pk}", HTTP_AUTHORIZATION=f"Bearer {raw_key}"
    )

    if spoil == "drop-membership":
        assert response.json() == FORBIDDEN
    else:
        assert response.status_code == HTTPStatus.UNAUTHORIZED
        assert response.json() == UNAUTHORIZED


def test_x_auth_token_header_is_accepted_too(api_client, tenant, make_member, make_token, job):
    user = make_member(tenant, "operations")

    response = api_client.get(
        f"/api/5.0/async_status/{job.pk}", HTTP_X_AUTH_TOKEN=make_token(user, tenant)
    )

    assert response.status_code == HTTPStatus.OK


def test_authentication_comes_before_id_parsing(api_client):
    response = api_client.get("/api/5.0/async_status/abc")

    assert response.status_code == HTTPStatus.UNAUTHORIZED


def test_permission_comes_before_id_parsing(api_client, tenant, bearer):
    response = api_client.get("/api/5.0/async_status/abc", **bearer(tenant, "read-only"))

    assert response.status_code == HTTPStatus.FORBIDDEN


def test_reading_one_job_with_a_bearer_token_costs_two_queries(
    api_client, ops_headers, job, django_assert_max_num_queries
):
    api_client.get(f"/api/5.0/async_status/{job.pk}", **ops_headers)

    with django_assert_max_num_queries(2):
        response = api_client.get(f"/api/5.0/async_status/{job.pk}", **ops_headers)

    assert response.status_code == HTTPStatus.OK


def test_a_missing_job_with_a_bearer_token_costs_two_queries(
    api_client, ops_headers, django_assert_max_num_queries
):
    api_client.get("/api/5.0/async_status/1", **ops_headers)

    with django_assert_max_num_queries(2):
        response = api_client.get("/api/5.0/async_status/424242", **ops_headers)

    assert response.status_code == HTTPStatus.NOT_FOUND


def test_reading_one_job_with_a_session_costs_four_queries(
    api_client, tenant, make_member, job, django_assert_max_num_queries
):
    api_client.force_login(make_member(tenant, "operations"))

    # Session, user, memberships, job.
    with django_assert_max_num_queries(4):
        response = api_client.get(f"/api/5.0/async_status/{job.pk}")

    assert response.status_code == HTTPStatus.OK
