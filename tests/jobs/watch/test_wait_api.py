"""`?wait=` on every family's job read: a long poll answered when the job changes."""

from __future__ import annotations

import time
from http import HTTPStatus

import pytest

from tests.conftest import clear_cache
from tests.jobs.watch.conftest import DEADLINE_SECONDS, subscribed, until

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(make_member, tenant, family):
    # A role of its own: a transactional test starts with no seeded roles.
    return make_member(tenant, "reader", permissions=[family.family.read_permission])


@pytest.fixture
def raw_key(operator, tenant, make_token) -> str:
    return make_token(operator, tenant)


@pytest.fixture
def poll(api_client, family, raw_key):
    """Return a function reading a job (with query parameters and extra headers)."""

    def get(job, query: str = "", *, key: str | None = None, **extra):
        path = family.poll_path(job) + (f"?{query}" if query else "")
        return api_client.get(path, **family.headers(key or raw_key), **extra)

    return get


@pytest.mark.django_db(transaction=True)  # the woken read may query in its own thread
def test_a_wait_answers_the_new_body_as_soon_as_the_job_changes(
    family, job, poll, in_thread, django_capture_on_commit_callbacks
):
    etag = poll(job)["ETag"]
    waiter = in_thread(lambda: poll(job, f"wait={DEADLINE_SECONDS}", HTTP_IF_NONE_MATCH=etag))
    until(lambda: subscribed(family.name, job.pk), "the read waits")

    with django_capture_on_commit_callbacks(execute=True):
        family.finish(job)
    changed_at = time.monotonic()
    response = waiter.result()

    assert response.status_code == HTTPStatus.OK
    assert waiter.finished_at - changed_at < 2
    assert response["ETag"] != etag
    assert "Retry-After" not in response  # the job has finished
    clear_cache()
    assert response.content == poll(job).content


def test_a_wait_answers_304_when_its_time_is_up_and_runs_no_query(
    family, job, poll, django_assert_num_queries
):
    first = poll(job)
    started = time.monotonic()

    with django_assert_num_queries(0):
        response = poll(job, "wait=0.3", HTTP_IF_NONE_MATCH=first["ETag"])

    assert response.status_code == HTTPStatus.NOT_MODIFIED
    assert 0.3 <= time.monotonic() - started < DEADLINE_SECONDS
    assert response["ETag"] == first["ETag"]
    assert response["Retry-After"] == first["Retry-After"]


@pytest.mark.parametrize(
    "headers", [{}, {"HTTP_IF_NONE_MATCH": '"an-old-tag"'}], ids=["no-etag", "old-etag"]
)
def test_a_wait_for_a_body_the_client_does_not_have_answers_at_once(family, job, poll, headers):
    expected = poll(job)
    started = time.monotonic()

    response = poll(job, f"wait={DEADLINE_SECONDS}", **headers)

    assert time.monotonic() - started < DEADLINE_SECONDS / 2
    assert response.status_code == HTTPStatus.OK
    assert response.content == expected.content


def test_wait_zero_is_an_ordinary_conditional_read(family, job, poll):
    etag = poll(job)["ETag"]

    assert poll(job, "wait=0", HTTP_IF_NONE_MATCH=etag).status_code == HTTPStatus.NOT_MODIFIED


@pytest.mark.parametrize("value", ["-1", "61", "60.5", "abc", "", "1e3", "nan", "5s", "0x10"])
def test_a_bad_wait_gets_the_familys_400_envelope(family, job, poll, value):
    etag = poll(job)["ETag"]

    response = poll(job, f"wait={value}", HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert family.error_key in response.json()
    assert b"wait" in response.content


def test_a_wait_on_another_tenants_job_is_refused_as_its_read_is_and_leaves_it_unchanged(
    family, other_tenant, make_member, make_token, poll
):
    theirs = family.make(other_tenant)
    their_key = make_token(make_member(other_tenant, "reader"), other_tenant)
    etag = poll(theirs, key=their_key)["ETag"]
    before = poll(theirs, key=their_key).content

    response = poll(theirs, "wait=5", HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == family.other_tenants_job_status
    assert b"wait" not in response.content
    assert poll(theirs, key=their_key).content == before


@pytest.mark.django_db(transaction=True)  # the waiting read queries in its own thread
def test_a_job_deleted_while_a_read_waits_answers_not_found(family, job, poll, in_thread):
    family.finish(job)
    etag = poll(job)["ETag"]
    waiter = in_thread(lambda: poll(job, f"wait={DEADLINE_SECONDS}", HTTP_IF_NONE_MATCH=etag))
    until(lambda: subscribed(family.name, job.pk), "the read waits")

    family.purge(job)

    assert waiter.result().status_code == HTTPStatus.NOT_FOUND
