"""Google's own client, unchanged, against a live jobdesk: `google-api-core`'s
`operations_v1.AbstractOperationsClient` over its REST transport, and the polling future of
`google.api_core.operation.from_http_json`."""

from collections.abc import Callable, Iterator

import pytest
import requests
from google.api_core import exceptions, operation, operations_v1
from google.auth.credentials import Credentials
from google.protobuf import struct_pb2

from lro.models import Operation
from lro.services import operation_finish
from tests.lro.factories import ABORTED
from tests.lro.helpers import reloaded

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("seeded_roles")]

State = Operation.State


class ApiTokenCredentials(Credentials):
    """Credentials that send a jobdesk API token as the OAuth 2 access token (`Bearer`)."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def refresh(self, request) -> None:
        """An API token does not expire by itself: nothing to refresh."""


@pytest.fixture
def raw_key(tenant, make_member, make_token) -> str:
    return make_token(make_member(tenant, "operations"), tenant)


def operations_client(live_server, raw_key: str) -> operations_v1.AbstractOperationsClient:
    return operations_v1.AbstractOperationsClient(
        credentials=ApiTokenCredentials(raw_key),
        transport="rest",
        client_options={"api_endpoint": live_server.url},
    )


def close_connections(session: requests.Session) -> None:
    """Close the session's connections, the idle keep-alive ones too, then the session.

    A server thread of the live server holds a database connection for as long as the
    client's connection to it stays open. `Session.close()` alone only forgets its connection
    pools (urllib3's `PoolManager.clear()` leaves them to garbage collection), and an error
    response the raised exception keeps (google-api-core's retry holds that exception in a
    reference cycle) holds its pool: its open connection would outlive the test.
    """
    for adapter in session.adapters.values():
        pools = adapter.poolmanager.pools
        for key in pools.keys():  # noqa: SIM118 - the container cannot be iterated
            pools[key].close()
    session.close()


@pytest.fixture
def make_client(live_server) -> Iterator[Callable[[str], operations_v1.AbstractOperationsClient]]:
    """Return a function making a client that sends `raw_key`; close them all afterwards."""
    made = []

    def make(raw_key: str) -> operations_v1.AbstractOperationsClient:
        made.append(operations_client(live_server, raw_key))
        return made[-1]

    yield make
    for client in made:
        close_connections(client.transport._session)


@pytest.fixture
def client(make_client, raw_key) -> operations_v1.AbstractOperationsClient:
    return make_client(raw_key)


@pytest.fixture
def api_request(live_server, raw_key) -> Iterator[Callable]:
    """The `api_request(method=, path=)` callable `from_http_json` polls through.

    Its `path` is `operations/<name>`, as google-cloud's JSON connections build it on an API
    whose operations live at `/v1/operations/...`; jobdesk's names are full resource names,
    served at `/v1/<name>`.
    """
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {raw_key}"

    def call(*, method: str, path: str) -> dict:
        name = path.removeprefix("operations/")
        response = session.request(method, f"{live_server.url}/v1/{name}", timeout=10)
        if response.status_code >= 400:
            raise exceptions.from_http_response(response)
        return response.json()

    yield call
    close_connections(session)


def project(tenant) -> str:
    return f"projects/{tenant.project_id}"


def test_get_returns_the_operation_with_its_metadata_as_a_struct(client, tenant, make_op):
    op = make_op(tenant, State.SUCCEEDED, target="datasets/sales")

    got = client.get_operation(op.name)

    assert got.name == op.name
    assert got.done is True
    metadata, response = struct_pb2.Struct(), struct_pb2.Struct()
    assert got.metadata.Unpack(metadata)
    assert got.response.Unpack(response)
    assert metadata["target"] == "datasets/sales"
    assert metadata["createTime"].endswith("Z")
    assert dict(response) == {"rows": 3.0}


def test_a_failed_operation_carries_its_status(client, tenant, make_op):
    op = make_op(tenant, State.FAILED)

    got = client.get_operation(op.name)

    assert (got.error.code, got.error.message) == (ABORTED, "Lost a race.")


def test_list_filters_and_pages_through_every_operation(client, tenant, make_op):
    states = [State.RUNNING, State.SUCCEEDED, State.FAILED, State.RUNNING, State.CANCELLED]
    made = [make_op(tenant, state) for state in states]

    every = client.list_operations(project(tenant), "", page_size=2)
    done = client.list_operations(project(tenant), "done=true", page_size=2)
    running = client.list_operations(project(tenant), "done=false")

    assert [op.name for op in every] == [op.name for op in reversed(made)]
    assert [op.name for op in done] == [op.name for op in reversed(made) if op.done]
    assert [op.name for op in running] == [op.name for op in reversed(made) if not op.done]


def test_list_pages_come_with_their_own_tokens(client, tenant, make_op):
    for _ in range(3):
        make_op(tenant)

    pages = list(client.list_operations(project(tenant), "", page_size=2).pages)

    assert [len(page.operations) for page in pages] == [2, 1]
    assert pages[0].next_page_token
    assert pages[1].next_page_token == ""


def test_a_bad_filter_raises_bad_request(client, tenant):
    with pytest.raises(exceptions.BadRequest, match="`done`"):
        list(client.list_operations(project(tenant), "name=foo"))


def test_cancel_ends_a_running_operation_cancelled(client, tenant, make_op):
    op = make_op(tenant)

    client.cancel_operation(op.name)

    got = client.get_operation(op.name)
    assert got.done is True
    assert got.error.code == 1


def test_delete_forgets_the_operation(client, tenant, make_op):
    op = make_op(tenant, State.SUCCEEDED)

    client.delete_operation(op.name)

    with pytest.raises(exceptions.NotFound):
        client.get_operation(op.name)


def test_another_tenants_operation_is_not_found_to_every_method(client, other_tenant, make_op):
    theirs = make_op(other_tenant)

    for call in (client.get_operation, client.cancel_operation, client.delete_operation):
        with pytest.raises(exceptions.NotFound):
            call(theirs.name)
    with pytest.raises(exceptions.NotFound):
        list(client.list_operations(project(other_tenant), ""))

    assert reloaded(theirs).state == State.RUNNING


def test_a_bad_token_raises_unauthorized(make_client, tenant, make_op):
    op = make_op(tenant)
    client = make_client("jd_not_a_key")

    with pytest.raises(exceptions.Unauthorized, match="unknown or malformed"):
        client.get_operation(op.name)


def test_from_http_json_polls_a_running_operation_to_its_response(
    client, api_request, tenant, make_op
):
    op = make_op(tenant, step="importing")
    first = api_request(method="GET", path=f"operations/{op.name}")
    future = operation.from_http_json(
        first, api_request, struct_pb2.Struct, metadata_type=struct_pb2.Struct
    )

    assert future.done() is False
    assert future.metadata["step"] == "importing"
    operation_finish(reloaded(op), response={"rows": 42})

    assert dict(future.result(timeout=10)) == {"rows": 42.0}


def test_from_http_json_raises_the_error_of_a_failed_operation(api_request, tenant, make_op):
    op = make_op(tenant, State.FAILED)
    first = api_request(method="GET", path=f"operations/{op.name}")
    future = operation.from_http_json(first, api_request, struct_pb2.Struct)

    with pytest.raises(exceptions.Aborted, match=r"Lost a race\."):
        future.result(timeout=10)


def test_from_http_json_cancels_through_cancel(api_request, tenant, make_op):
    op = make_op(tenant)
    first = api_request(method="GET", path=f"operations/{op.name}")
    future = operation.from_http_json(first, api_request, struct_pb2.Struct)

    assert future.cancel() is True
    assert future.cancelled() is True
    assert reloaded(op).state == State.CANCELLED
