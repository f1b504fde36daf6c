"""PostgreSQL refusing connections or hanging, between jobdesk and the database (a proxy).

Every request that needs the database is answered 503 with Retry-After in its family's
envelope (a plain page in the admin), within the configured timeouts; cached polls keep being
answered; the service is back as soon as the database is, and nobody is locked out of the
Traffic Ops login by an outage.
"""

from http import HTTPStatus

import pytest
from django.db import OperationalError, connection
from django.test import Client

from tenancy.throttling import MAX_FAILURES
from tests.faults.helpers import assert_unavailable, login, poll
from tests.jobs.drivers import driver, drivers

pytestmark = pytest.mark.postgres

FAMILIES = [pytest.param(family, id=family.name) for family in drivers()]


@pytest.fixture
def client() -> Client:
    """A test client that answers server errors as a server would, instead of raising them."""
    return Client(raise_request_exception=False)


@pytest.fixture
def ops_key(tenant, make_member, make_token) -> str:
    return make_token(make_member(tenant, "operations"), tenant)


def test_statements_have_the_configured_timeout(database_proxy):
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "5s"  # JOBDESK_DATABASE_STATEMENT_TIMEOUT_SECONDS' default


def test_a_statement_to_a_database_that_stopped_answering_fails_and_drops_its_connection(
    database_proxy, worker
):
    def statement_after_the_hang():
        connection.ensure_connection()
        database_proxy.hang()
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except OperationalError as error:
            return error, connection.connection.closed
        return None, connection.connection.closed

    error, closed = worker(statement_after_the_hang)
    database_proxy.restore()

    assert "did not answer within 2 seconds" in str(error)
    assert closed


@pytest.mark.parametrize("family", FAMILIES)
def test_a_read_while_the_database_refuses_is_503_in_the_envelope_and_recovers(
    database_proxy, worker, client, tenant, ops_key, family
):
    job = family.make(tenant)

    with database_proxy.refusing():
        assert_unavailable(poll(worker, client, family, job, ops_key), family)

    assert poll(worker, client, family, job, ops_key).status_code == HTTPStatus.OK


def test_a_read_while_the_database_hangs_is_503_and_a_cached_poll_is_still_answered(
    database_proxy, worker, client, tenant, ops_key
):
    # Every family's envelope is the refusing test's; a hang costs its timeout: one family.
    family = driver("async_status")
    cached, uncached = family.make(tenant), family.make(tenant)
    before = poll(worker, client, family, cached, ops_key)  # caches the token and the snapshot

    database_proxy.hang()
    assert_unavailable(poll(worker, client, family, uncached, ops_key), family)
    during = poll(worker, client, family, cached, ops_key)
    database_proxy.restore()

    assert (during.status_code, during.content) == (HTTPStatus.OK, before.content)
    assert poll(worker, client, family, uncached, ops_key).status_code == HTTPStatus.OK


def test_an_aged_snapshot_is_served_while_the_database_is_down(
    database_proxy, worker, client, tenant, ops_key, settings
):
    family = driver("progress")
    cached, uncached = family.make(tenant), family.make(tenant)
    before = poll(worker, client, family, cached, ops_key)
    settings.JOBDESK_MAX_STALENESS_SECONDS = 0  # everything cached is now past the bound

    with database_proxy.refusing():
        assert_unavailable(poll(worker, client, family, uncached, ops_key), family)
        during = poll(worker, client, family, cached, ops_key)

    assert (during.status_code, during.content) == (HTTPStatus.OK, before.content)


def test_logins_failed_by_a_database_outage_lock_nobody_out(
    database_proxy, worker, client, tenant, make_member
):
    user = make_member(tenant, "operations")

    with database_proxy.refusing():
        for _ in range(MAX_FAILURES + 1):
            assert_unavailable(login(worker, client, user.username), driver("async_status"))

    assert login(worker, client, user.username).status_code == HTTPStatus.OK


def test_an_admin_page_while_the_database_refuses_is_a_plain_503_page(
    database_proxy, worker, client, admin_user
):
    client.force_login(admin_user)

    with database_proxy.refusing():
        response = worker(lambda: client.get("/admin/progress/progress/"))

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response["Retry-After"] == "1"
    assert b"Service Unavailable (503)" in response.content
    assert worker(lambda: client.get("/admin/progress/progress/")).status_code == HTTPStatus.OK
