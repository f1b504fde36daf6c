"""ListOperations: `GET /v1/projects/{project}/operations`, its filter and its page tokens."""

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.core import signing

from lro.filters import PAGE_TOKEN_SALT
from lro.models import Operation
from tests.lro.helpers import collection, error_of

pytestmark = pytest.mark.django_db

State = Operation.State


@pytest.fixture
def mixed(tenant, make_op) -> list[Operation]:
    """Two running and three done operations of `tenant`, oldest first."""
    states = [State.RUNNING, State.SUCCEEDED, State.RUNNING, State.FAILED, State.CANCELLED]
    return [make_op(tenant, state) for state in states]


def names(response) -> list[str]:
    return [op["name"] for op in response.json()["operations"]]


def test_the_list_is_the_projects_operations_newest_first(
    api_client, tenant, mixed, theirs, ops_headers
):
    response = api_client.get(collection(tenant), **ops_headers)

    assert response.status_code == HTTPStatus.OK
    assert list(response.json()) == ["operations", "nextPageToken"]
    assert names(response) == [op.name for op in reversed(mixed)]
    assert response.json()["nextPageToken"] == ""
    assert theirs.name not in names(response)


@pytest.mark.parametrize(
    ("text", "done"),
    [("done=true", True), ("done = false", False), (" done=true ", True), ("", None)],
)
def test_the_filter_selects_done_or_running_operations(
    api_client, tenant, mixed, ops_headers, text, done
):
    response = api_client.get(collection(tenant), {"filter": text}, **ops_headers)

    expected = [op.name for op in reversed(mixed) if done is None or op.done == done]
    assert names(response) == expected


@pytest.mark.parametrize(
    "text", ["done", "done=yes", "DONE=true", "name=foo", "done=true AND done=false", "x" * 3000]
)
def test_another_filter_is_invalid_argument(api_client, tenant, ops_headers, text):
    response = api_client.get(collection(tenant), {"filter": text}, **ops_headers)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert error_of(response)["status"] == "INVALID_ARGUMENT"


def test_pages_follow_one_another_through_their_tokens_to_the_last(
    api_client, tenant, mixed, ops_headers
):
    seen, token, pages = [], "", 0
    while True:
        params = {"pageSize": 2, **({"pageToken": token} if token else {})}
        body = api_client.get(collection(tenant), params, **ops_headers).json()
        seen += [op["name"] for op in body["operations"]]
        token, pages = body["nextPageToken"], pages + 1
        if not token:
            break

    assert pages == 3
    assert seen == [op.name for op in reversed(mixed)]


def test_operations_created_at_the_same_instant_are_each_listed_once(
    api_client, tenant, make_op, ops_headers
):
    made = [make_op(tenant) for _ in range(3)]
    when = made[0].created_at
    Operation.objects.across_tenants().update(created_at=when)

    first = api_client.get(collection(tenant), {"pageSize": 2}, **ops_headers).json()
    second = api_client.get(
        collection(tenant), {"pageSize": 2, "pageToken": first["nextPageToken"]}, **ops_headers
    ).json()

    listed = [op["name"] for op in first["operations"] + second["operations"]]
    assert sorted(listed) == sorted(op.name for op in made)


def test_a_page_token_is_bound_to_its_filter(api_client, tenant, mixed, ops_headers):
    first = api_client.get(
        collection(tenant), {"pageSize": 1, "filter": "done=true"}, **ops_headers
    ).json()

    response = api_client.get(
        collection(tenant), {"pageSize": 1, "pageToken": first["nextPageToken"]}, **ops_headers
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "another project or filter" in error_of(response)["message"]


def test_the_page_size_may_change_between_pages(api_client, tenant, mixed, ops_headers):
    first = api_client.get(collection(tenant), {"pageSize": 1}, **ops_headers).json()

    rest = api_client.get(
        collection(tenant), {"pageSize": 10, "pageToken": first["nextPageToken"]}, **ops_headers
    )

    assert len(rest.json()["operations"]) == len(mixed) - 1


def test_another_tenants_page_token_is_invalid_argument(
    api_client, tenant, other_tenant, make_op, bearer, ops_headers
):
    for _ in range(2):
        make_op(other_tenant)
        make_op(tenant)
    their_headers = bearer(other_tenant, "operations")
    theirs = api_client.get(collection(other_tenant), {"pageSize": 1}, **their_headers).json()

    response = api_client.get(
        collection(tenant), {"pageSize": 1, "pageToken": theirs["nextPageToken"]}, **ops_headers
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert error_of(response)["status"] == "INVALID_ARGUMENT"


def test_a_tampered_or_forged_page_token_is_invalid_argument(
    api_client, tenant, mixed, ops_headers
):
    token = api_client.get(collection(tenant), {"pageSize": 1}, **ops_headers).json()[
        "nextPageToken"
    ]
    forged = signing.dumps({"t": tenant.pk, "f": "", "c": "2000-01-01T00:00:00", "i": 1})

    for bad in [token[:-2] + "xx", "nonsense", forged, token + ":", "x" * 3000]:
        response = api_client.get(
            collection(tenant), {"pageSize": 1, "pageToken": bad}, **ops_headers
        )
        assert response.status_code == HTTPStatus.BAD_REQUEST, bad
        assert "pageToken" in error_of(response)["message"]


def test_a_signed_token_with_a_malformed_payload_is_invalid_argument(
    api_client, tenant, ops_headers
):
    for payload in [{"t": tenant.pk}, [1, 2], {"t": tenant.pk, "f": "", "c": "junk", "i": 1}]:
        token = signing.dumps(payload, salt=PAGE_TOKEN_SALT)
        response = api_client.get(collection(tenant), {"pageToken": token}, **ops_headers)
        assert response.status_code == HTTPStatus.BAD_REQUEST, payload


@pytest.mark.parametrize("size", ["-1", "abc", "1.5", "1e3", "9999999999"])
def test_a_bad_page_size_is_invalid_argument(api_client, tenant, ops_headers, size):
    response = api_client.get(collection(tenant), {"pageSize": size}, **ops_headers)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "pageSize" in error_of(response)["message"]


def test_a_page_size_over_the_maximum_is_the_maximum_and_zero_the_default(
    api_client, tenant, mixed, ops_headers
):
    for size in ["0", "5000"]:
        response = api_client.get(collection(tenant), {"pageSize": size}, **ops_headers)
        assert len(response.json()["operations"]) == len(mixed)


def test_another_tenants_project_is_not_found(api_client, other_tenant, theirs, ops_headers):
    response = api_client.get(collection(other_tenant), **ops_headers)

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert theirs.name not in response.content.decode()


def test_an_unknown_project_is_not_found_for_a_session_too(client, tenant, make_member, mixed):
    client.force_login(make_member(tenant, "operations"))

    assert client.get(collection(tenant)).status_code == HTTPStatus.OK
    assert client.get("/v1/projects/nope/operations").status_code == HTTPStatus.NOT_FOUND


def test_an_unknown_list_parameter_is_invalid_argument(api_client, tenant, ops_headers):
    response = api_client.get(collection(tenant), {"page_size": 2}, **ops_headers)

    assert response.status_code == HTTPStatus.BAD_REQUEST


@pytest.mark.parametrize("size", [1, 50])
def test_a_page_costs_the_token_and_one_query_whatever_its_size(
    api_client, tenant, make_op, ops_headers, django_assert_max_num_queries, size
):
    for _ in range(size + 1):
        make_op(tenant)
    api_client.get(collection(tenant), **ops_headers)  # the token's first use is recorded

    with django_assert_max_num_queries(2):
        response = api_client.get(collection(tenant), {"pageSize": size}, **ops_headers)

    assert len(response.json()["operations"]) == size


def test_the_newest_first_page_of_a_filter_skips_older_rows(
    api_client, tenant, make_op, ops_headers
):
    old = make_op(tenant, State.SUCCEEDED)
    Operation.objects.across_tenants().filter(pk=old.pk).update(
        created_at=old.created_at - timedelta(days=1)
    )
    new = make_op(tenant, State.SUCCEEDED)

    response = api_client.get(
        collection(tenant), {"filter": "done=true", "pageSize": 1}, **ops_headers
    )

    assert names(response) == [new.name]
