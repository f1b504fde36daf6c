"""CancelOperation (`POST ...:cancel`) and DeleteOperation (`DELETE ...`)."""

from http import HTTPStatus

import pytest
from rest_framework.test import APIClient

from lro.models import Operation
from tests.lro.helpers import error_of, reloaded, url

pytestmark = pytest.mark.django_db

State = Operation.State


def cancel(api_client, op, headers, **kwargs):
    return api_client.post(url(op, ":cancel"), **kwargs, **headers)


def test_cancel_ends_a_running_operation_with_code_1_cancelled(api_client, op, ops_headers):
    response = cancel(api_client, op, ops_headers)

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {}
    body = api_client.get(url(op), **ops_headers).json()
    assert body["done"] is True
    assert body["error"] == {"code": 1, "message": "Operation was cancelled.", "details": []}


def test_cancel_of_a_done_operation_is_best_effort_and_changes_nothing(
    api_client, tenant, make_op, ops_headers
):
    op = make_op(tenant, State.SUCCEEDED)

    response = cancel(api_client, op, ops_headers)

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {}
    assert reloaded(op).state == State.SUCCEEDED


def test_cancel_takes_the_clients_empty_json_body_and_the_operations_name(
    api_client, op, ops_headers
):
    empty = cancel(api_client, op, ops_headers, data=b"", content_type="application/json")
    named = cancel(api_client, op, ops_headers, data={"name": op.name}, format="json")

    assert empty.status_code == named.status_code == HTTPStatus.OK


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b'{"force": true}', "application/json"),
        (b'{"name": "projects/p/operations/1"}', "application/json"),
        (b"[1]", "application/json"),
        (b"{nope", "application/json"),
        (b"name=x", "application/x-www-form-urlencoded"),
    ],
)
def test_a_bad_cancel_body_is_invalid_argument_and_cancels_nothing(
    api_client, op, ops_headers, data, content_type
):
    response = cancel(api_client, op, ops_headers, data=data, content_type=content_type)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert error_of(response)["status"] == "INVALID_ARGUMENT"
    assert reloaded(op).state == State.RUNNING


def test_cancel_of_another_tenants_operation_is_not_found_and_leaves_it_running(
    api_client, theirs, ops_headers
):
    response = cancel(api_client, theirs, ops_headers)

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert error_of(response)["status"] == "NOT_FOUND"
    assert reloaded(theirs).state == State.RUNNING


def test_cancel_needs_operation_cancel(api_client, op, tenant, bearer):
    response = cancel(api_client, op, bearer(tenant, "read-only"))

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert error_of(response)["message"] == "Permission 'OPERATION:CANCEL' denied."
    assert reloaded(op).state == State.RUNNING


def test_cancel_with_a_malformed_id_is_invalid_argument(api_client, tenant, ops_headers):
    path = f"/v1/projects/{tenant.project_id}/operations/abc:cancel"

    assert api_client.post(path, **ops_headers).status_code == HTTPStatus.BAD_REQUEST


def test_cancel_is_post_only(api_client, op, ops_headers):
    response = api_client.get(url(op, ":cancel"), **ops_headers)

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response["Allow"] == "POST"


def test_an_unknown_custom_method_is_invalid_argument(api_client, op, ops_headers):
    response = api_client.post(url(op, ":frobnicate"), **ops_headers)

    assert response.status_code in (HTTPStatus.BAD_REQUEST, HTTPStatus.METHOD_NOT_ALLOWED)
    assert reloaded(op).state == State.RUNNING


@pytest.mark.parametrize("state", [State.RUNNING, State.SUCCEEDED])
def test_delete_forgets_the_operation_so_it_is_not_found_afterwards(
    api_client, tenant, make_op, ops_headers, state
):
    op = make_op(tenant, state)
    assert api_client.get(url(op), **ops_headers).status_code == HTTPStatus.OK  # cached

    response = api_client.delete(url(op), **ops_headers)

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {}
    assert not Operation.objects.across_tenants().filter(pk=op.pk).exists()
    gone = api_client.get(url(op), **ops_headers)
    assert gone.status_code == HTTPStatus.NOT_FOUND
    assert api_client.delete(url(op), **ops_headers).status_code == HTTPStatus.NOT_FOUND


def test_delete_of_another_tenants_operation_is_not_found_and_keeps_it(
    api_client, theirs, ops_headers
):
    response = api_client.delete(url(theirs), **ops_headers)

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert reloaded(theirs).state == State.RUNNING


def test_delete_needs_operation_cancel(api_client, op, tenant, bearer):
    response = api_client.delete(url(op), **bearer(tenant, "read-only"))

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert Operation.objects.across_tenants().filter(pk=op.pk).exists()


@pytest.mark.parametrize("operation", ["abc", "0", "1:frobnicate"])
def test_delete_with_a_malformed_id_is_invalid_argument(api_client, tenant, ops_headers, operation):
    path = f"/v1/projects/{tenant.project_id}/operations/{operation}"

    assert api_client.delete(path, **ops_headers).status_code == HTTPStatus.BAD_REQUEST


def test_a_session_cancel_without_the_csrf_token_is_refused_and_says_why(tenant, op, make_member):
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(make_member(tenant, "operations"))

    response = browser.post(url(op, ":cancel"))

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert error_of(response)["message"].startswith("CSRF Failed")
    assert reloaded(op).state == State.RUNNING
