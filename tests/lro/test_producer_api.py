"""Producers: create an operation (`POST` on the collection), report on it and finish it
(`PATCH` on the operation); jobdesk's own routes, in Google's style."""

from http import HTTPStatus

import pytest

from lro.models import Operation
from lro.serializers import STRUCT_TYPE
from tests.lro.helpers import collection, error_of, nested, reloaded, url

pytestmark = pytest.mark.django_db

State = Operation.State


def create(api_client, tenant, headers, body=None, **extra):
    return api_client.post(collection(tenant), body or {}, format="json", **headers, **extra)


def patch(api_client, op, headers, body):
    return api_client.patch(url(op), body, format="json", **headers)


def test_a_create_answers_the_new_running_operation(api_client, tenant, admin_headers):
    response = create(api_client, tenant, admin_headers, {"metadata": {"target": "sales"}})

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    op = Operation.objects.for_tenant(tenant).get()
    assert body["name"] == op.name
    assert body["done"] is False
    assert body["metadata"]["value"]["target"] == "sales"


def test_a_create_without_a_body_has_empty_metadata(api_client, tenant, admin_headers):
    response = api_client.post(collection(tenant), **admin_headers)

    assert response.status_code == HTTPStatus.OK
    assert list(response.json()["metadata"]["value"]) == ["createTime"]


def test_a_retried_create_with_its_idempotency_key_returns_the_same_operation(
    api_client, tenant, admin_headers
):
    body = {"metadata": {"target": "sales"}}
    first = create(api_client, tenant, admin_headers, body, HTTP_IDEMPOTENCY_KEY="import-1")
    again = create(api_client, tenant, admin_headers, body, HTTP_IDEMPOTENCY_KEY="import-1")
    other = create(
        api_client, tenant, admin_headers, {"metadata": {}}, HTTP_IDEMPOTENCY_KEY="import-1"
    )

    assert first.json()["name"] == again.json()["name"]
    assert Operation.objects.for_tenant(tenant).count() == 1
    assert other.status_code == HTTPStatus.CONFLICT
    assert error_of(other)["status"] == "ALREADY_EXISTS"


@pytest.mark.parametrize(
    "body",
    [
        {"metadata": [1]},
        {"metadata": "x"},
        {"metadata": {"createTime": "2020-01-01T00:00:00Z"}},
        {"metadata": {}, "done": True},
        {"name": "projects/p/operations/1"},
    ],
)
def test_a_bad_create_body_is_invalid_argument_and_creates_nothing(
    api_client, tenant, admin_headers, body
):
    response = create(api_client, tenant, admin_headers, body)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert error_of(response)["status"] == "INVALID_ARGUMENT"
    assert not Operation.objects.for_tenant(tenant).exists()


def test_a_body_over_the_limit_is_invalid_argument(api_client, tenant, admin_headers, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100

    response = create(api_client, tenant, admin_headers, {"metadata": {"blob": "x" * 200}})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert error_of(response)["message"] == "Request payload size exceeds the limit: 100 bytes."


def test_a_create_in_another_tenants_project_is_not_found(api_client, other_tenant, admin_headers):
    response = create(api_client, other_tenant, admin_headers)

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert not Operation.objects.for_tenant(other_tenant).exists()


def test_a_create_needs_operation_write(api_client, tenant, ops_headers):
    response = create(api_client, tenant, ops_headers)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert error_of(response)["message"] == "Permission 'OPERATION:WRITE' denied."


def test_a_report_replaces_the_metadata(api_client, op, admin_headers):
    response = patch(api_client, op, admin_headers, {"metadata": {"progressPercent": 50}})

    assert response.status_code == HTTPStatus.OK
    assert response.json()["metadata"]["value"] == {
        "createTime": response.json()["metadata"]["value"]["createTime"],
        "progressPercent": 50,
    }
    assert reloaded(op).heartbeat_at is not None


def test_a_response_finishes_the_operation(api_client, op, admin_headers):
    body = {"metadata": {"progressPercent": 100}, "response": {"rows": 7}}

    response = patch(api_client, op, admin_headers, body)

    assert response.json()["done"] is True
    assert response.json()["response"] == {"@type": STRUCT_TYPE, "value": {"rows": 7}}
    assert response.json()["metadata"]["value"]["progressPercent"] == 100


def test_an_error_fails_the_operation(api_client, op, admin_headers):
    response = patch(api_client, op, admin_headers, {"error": {"code": 8, "message": "Quota."}})

    assert response.json()["error"] == {"code": 8, "message": "Quota.", "details": []}
    assert reloaded(op).state == State.FAILED


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"response": {}, "error": {"code": 2}},
        {"response": [1]},
        {"error": {"code": 0, "message": "OK is no error"}},
        {"error": {"code": 17}},
        {"error": {"code": "13"}},
        {"error": {"code": 13, "message": 5}},
        {"error": {"code": 13, "reason": "x"}},
        {"error": "boom"},
        {"metadata": {"endTime": "x"}},
        {"done": True},
        {"metadata": {"a": {"b": 1}}, "response": {"deep": nested(40)}},
    ],
)
def test_a_bad_report_is_invalid_argument_and_changes_nothing(api_client, op, admin_headers, body):
    response = patch(api_client, op, admin_headers, body)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert error_of(response)["status"] == "INVALID_ARGUMENT"
    assert reloaded(op).state == State.RUNNING
    assert reloaded(op).metadata == {"step": "started"}


def test_a_report_on_a_done_operation_is_aborted_and_names_its_state(
    api_client, tenant, make_op, admin_headers
):
    op = make_op(tenant, State.CANCELLED)

    response = patch(api_client, op, admin_headers, {"response": {}})

    assert response.status_code == HTTPStatus.CONFLICT
    assert error_of(response) == {
        "code": 409,
        "message": f"Cannot finish operation {op.pk}: it is CANCELLED.",
        "status": "ABORTED",
        "details": [],
    }


def test_a_report_on_another_tenants_operation_is_not_found_and_changes_nothing(
    api_client, theirs, admin_headers
):
    response = patch(api_client, theirs, admin_headers, {"response": {}})

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert reloaded(theirs).state == State.RUNNING


def test_a_report_needs_operation_write(api_client, op, ops_headers):
    response = patch(api_client, op, ops_headers, {"metadata": {}})

    assert response.status_code == HTTPStatus.FORBIDDEN
