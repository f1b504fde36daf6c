"""Redis refusing connections, hanging, or blipping, between jobdesk and the cache (a proxy).

Polls are answered from the database, logins keep working (and keep being limited), nothing
answers 500; after a blip that lost a write's invalidation, nothing older than the staleness
bound (JOBDESK_MAX_STALENESS_SECONDS) is served. The write is made by another process, as a
task worker or an admin server would make it.
"""

from http import HTTPStatus

import pytest
from django.test import Client

from progress.family import PROGRESS_READ
from progress.services import progress_create
from tenancy.throttling import MAX_FAILURES
from tests.faults.conftest import cache_url
from tests.faults.helpers import PASSWORD
from tests.jobs.drivers import driver, drivers
from tests.jobs.test_shared_cache import in_another_process


@pytest.fixture
def client() -> Client:
    """A test client that answers server errors as a server would, instead of raising them."""
    return Client(raise_request_exception=False)


def poll(client, family, job, key):
    return client.get(family.poll_path(job), **family.headers(key))


def login(client, username, password=PASSWORD):
    body = {"u": username, "p": password}
    return client.post("/api/5.0/user/login", body, content_type="application/json")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fault", "family"),
    # Every family's read with Redis down; hanging costs a timeout per cache call: one family.
    [*(("refuse", family) for family in drivers()), ("hang", driver("progress"))],
    ids=lambda value: getattr(value, "name", value),
)
def test_polls_are_answered_from_the_database_while_the_cache_fails(
    cache_proxy, client, tenant, make_member, make_token, family, fault
):
    key = make_token(make_member(tenant, "operations"), tenant)
    job = family.make(tenant)
    before = poll(client, family, job, key)

    getattr(cache_proxy, fault)()
    during = [poll(client, family, job, key) for _ in range(2)]
    cache_proxy.restore()

    assert [(r.status_code, r.content) for r in during] == [(HTTPStatus.OK, before.content)] * 2


@pytest.mark.django_db
@pytest.mark.parametrize("fault", ["refuse", "hang"])
def test_the_traffic_ops_login_works_and_still_limits_failures_while_the_cache_fails(
    cache_proxy, client, tenant, make_member, fault
):
    user, other = make_member(tenant), make_member(tenant)

    getattr(cache_proxy, fault)()
    logged_in = login(client, user.username)
    failures = [login(client, other.username, "wrong") for _ in range(MAX_FAILURES + 1)]
    cache_proxy.restore()

    assert logged_in.status_code == HTTPStatus.OK
    assert [r.status_code for r in failures] == [HTTPStatus.UNAUTHORIZED] * MAX_FAILURES + [
        HTTPStatus.TOO_MANY_REQUESTS
    ]


@pytest.fixture
def job(transactional_db, tenant):
    return progress_create(tenant=tenant, tag="export", context_type="Course", context_id=1)


@pytest.fixture
def reader_key(transactional_db, tenant, make_member, make_token):
    return make_token(make_member(tenant, "progress-reader", permissions=[PROGRESS_READ]), tenant)


def in_another_process_during_a_blip(cache_proxy, settings, code: str) -> None:
    """Run `code` in another process while Redis refuses, then let the bound pass."""
    with cache_proxy.refusing():
        in_another_process(
            settings.CACHES["default"]["KEY_PREFIX"], code, redis_url=cache_url(cache_proxy)
        )
    settings.JOBDESK_MAX_STALENESS_SECONDS = 0  # as if the bound had passed since the blip


@pytest.mark.postgres
def test_a_write_whose_invalidation_a_blip_lost_shows_once_the_bound_has_passed(
    cache_proxy, settings, client, job, reader_key
):
    family = driver("progress")
    assert poll(client, family, job, reader_key).json()["workflow_state"] == "queued"

    in_another_process_during_a_blip(
        cache_proxy,
        settings,
        "from progress.models import Progress; from progress import services; "
        f"services.progress_start(Progress.objects.across_tenants().get(pk={job.pk}))",
    )

    assert poll(client, family, job, reader_key).json()["workflow_state"] == "running"


@pytest.mark.postgres
def test_a_token_revoked_during_a_blip_is_refused_once_the_bound_has_passed(
    cache_proxy, settings, client, job, reader_key
):
    family = driver("progress")
    assert poll(client, family, job, reader_key).status_code == HTTPStatus.OK

    in_another_process_during_a_blip(
        cache_proxy,
        settings,
        "from tenancy.models import ApiToken; from tenancy.services import token_revoke; "
        f"[token_revoke(token=t) for t in ApiToken.objects.filter(prefix={reader_key[:10]!r})]",
    )

    assert poll(client, family, job, reader_key).status_code == HTTPStatus.UNAUTHORIZED
