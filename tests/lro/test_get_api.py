"""GetOperation: `GET /v1/projects/{project}/operations/{id}`, the wire shape and its errors."""

from http import HTTPStatus

import pytest
from django.db import OperationalError

from lro.models import Operation
from lro.serializers import STRUCT_TYPE
from lro.services import operation_update
from tenancy.models import Role
from tests.lro.helpers import collection, error_of, reloaded, url

pytestmark = pytest.mark.django_db

State = Operation.State


def test_a_running_operation_is_its_name_metadata_and_done_false(api_client, op, ops_headers):
    response = api_client.get(url(op), **ops_headers)

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert list(body) == ["name", "metadata", "done"]
    assert body["name"] == f"projects/{op.tenant.project_id}/operations/{op.pk}"
    assert body["done"] is False
    assert list(body["metadata"]) == ["@type", "value"]
    assert body["metadata"]["@type"] == STRUCT_TYPE
    value = body["metadata"]["value"]
    assert list(value) == ["createTime", "step"]
    assert value["step"] == "started"
    assert value["createTime"].endswith("Z")


def test_a_succeeded_operation_carries_its_response_as_a_struct(
    api_client, tenant, make_op, ops_headers
):
    op = make_op(tenant, State.SUCCEEDED)

    body = api_client.get(url(op), **ops_headers).json()

    assert list(body) == ["name", "metadata", "done", "response"]
    assert body["done"] is True
    assert body["response"] == {"@type": STRUCT_TYPE, "value": {"rows": 3}}
    assert list(body["metadata"]["value"]) == ["createTime", "endTime", "step"]


@pytest.mark.parametrize(
    ("state", "code", "message"),
    [(State.FAILED, 10, "Lost a race."), (State.CANCELLED, 1, "Operation was cancelled.")],
)
def test_a_failed_or_cancelled_operation_carries_an_rpc_status(
    api_client, tenant, make_op, ops_headers, state, code, message
):
    op = make_op(tenant, state)

    body = api_client.get(url(op), **ops_headers).json()

    assert list(body) == ["name", "metadata", "done", "error"]
    assert body["error"] == {"code": code, "message": message, "details": []}


def test_the_read_sends_etag_and_retry_after_while_running(api_client, op, ops_headers):
    response = api_client.get(url(op), **ops_headers)

    assert response["ETag"].startswith('"')
    assert response["Retry-After"] == "1"
    assert response["Content-Type"] == "application/json"


def test_another_tenants_operation_is_not_found_and_unchanged(api_client, theirs, ops_headers):
    response = api_client.get(url(theirs), **ops_headers)

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert error_of(response)["status"] == "NOT_FOUND"
    assert b"started" not in response.content
    assert reloaded(theirs).metadata == {"step": "started"}


def test_an_own_operation_named_under_another_project_is_not_found(
    api_client, op, other_tenant, ops_headers
):
    path = f"{collection(other_tenant)}/{op.pk}"

    response = api_client.get(path, **ops_headers)

    assert response.status_code == HTTPStatus.NOT_FOUND


def test_a_cached_operation_is_not_served_under_another_project(
    api_client, op, other_tenant, ops_headers
):
    assert api_client.get(url(op), **ops_headers).status_code == HTTPStatus.OK  # now cached

    response = api_client.get(f"{collection(other_tenant)}/{op.pk}", **ops_headers)

    assert response.status_code == HTTPStatus.NOT_FOUND


def test_a_deleted_or_missing_operation_is_not_found(api_client, tenant, ops_headers):
    response = api_client.get(f"{collection(tenant)}/987654321", **ops_headers)

    assert response.status_code == HTTPStatus.NOT_FOUND
    name = f"projects/{tenant.project_id}/operations/987654321"
    assert error_of(response)["message"] == f"Operation {name} not found."


@pytest.mark.parametrize(
    "operation",
    ["abc", "0", "-1", "1.5", "99999999999999999999", "9223372036854775808", "1:frobnicate", ""],
)
def test_a_malformed_operation_id_is_invalid_argument(api_client, tenant, ops_headers, operation):
    response = api_client.get(f"{collection(tenant)}/{operation}", **ops_headers)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert error_of(response)["status"] == "INVALID_ARGUMENT"


@pytest.mark.parametrize("project", ["has%20space", "x" * 65, "caf%C3%A9", "%00"])
def test_a_malformed_project_is_invalid_argument(api_client, ops_headers, project):
    response = api_client.get(f"/v1/projects/{project}/operations/1", **ops_headers)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "project" in error_of(response)["message"]


def test_an_unknown_query_parameter_is_invalid_argument(api_client, op, ops_headers):
    api_client.get(url(op), **ops_headers)  # cached: the fast path must not answer it

    response = api_client.get(url(op), {"view": "FULL"}, **ops_headers)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert error_of(response)["message"] == "Unknown query parameter 'view'."


def test_the_system_parameter_alt_json_is_accepted(api_client, op, ops_headers):
    response = api_client.get(url(op), {"$alt": "json;enum-encoding=int"}, **ops_headers)

    assert response.status_code == HTTPStatus.OK


def test_no_credentials_is_unauthenticated_with_a_bearer_challenge(api_client, op):
    response = api_client.get(url(op))

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert error_of(response)["status"] == "UNAUTHENTICATED"
    assert response["WWW-Authenticate"] == 'Bearer realm="jobdesk"'


def test_an_unknown_token_is_unauthenticated(api_client, op):
    response = api_client.get(url(op), HTTP_AUTHORIZATION="Bearer jd_nope")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert "unknown or malformed" in error_of(response)["message"]


def test_a_principal_without_operation_read_is_permission_denied(api_client, op, tenant, bearer):
    Role.objects.create(name="progress-only", permissions=["PROGRESS:READ"])

    response = api_client.get(url(op), **bearer(tenant, "progress-only"))

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert error_of(response) == {
        "code": 403,
        "message": "Permission 'OPERATION:READ' denied.",
        "status": "PERMISSION_DENIED",
        "details": [],
    }


def test_the_read_only_role_reads_operations(api_client, op, tenant, bearer):
    assert api_client.get(url(op), **bearer(tenant, "read-only")).status_code == HTTPStatus.OK


def test_an_unserved_method_is_405_in_the_envelope(api_client, op, ops_headers):
    response = api_client.put(url(op), {}, format="json", **ops_headers)

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert error_of(response)["status"] == "UNIMPLEMENTED"


@pytest.mark.parametrize("path", ["/v1", "/v1/", "/v1/operations/1", "/v1/projects/p/jobs/1"])
def test_an_unknown_url_under_v1_is_not_found_in_the_envelope(api_client, path):
    response = api_client.get(path)

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert error_of(response)["status"] == "NOT_FOUND"


def test_an_unreachable_database_is_unavailable_with_retry_after(
    api_client, op, ops_headers, monkeypatch
):
    def down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("lro.views.OperationsView.get_object", down)

    response = api_client.get(url(op), **ops_headers)

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert error_of(response)["status"] == "UNAVAILABLE"
    assert response["Retry-After"] == "1"


def test_a_metadata_change_shows_on_the_next_read(api_client, op, ops_headers):
    before = api_client.get(url(op), **ops_headers)

    operation_update(op, metadata={"step": "copying", "progressPercent": 40})
    after = api_client.get(url(op), **ops_headers, HTTP_IF_NONE_MATCH=before["ETag"])

    assert after.status_code == HTTPStatus.OK
    assert after.json()["metadata"]["value"]["progressPercent"] == 40
