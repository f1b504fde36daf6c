"""Event streams opened from the cache alone, and each change read once for all its streams.

`jobs.events.fast_open` opens a stream whose token and job snapshots are cached, with one
cache read and no query, and `jobs.asgi` serves it without Django's request cycle; anything
else is left to the view. Under ASGI a change is read once per process for every stream that
watches its job (`SharedReads`), and heartbeats read the access version at most once a second
for all of them (`AuthVersions`); a stream shows a shared read only if its own principal may
read it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import time
from http import HTTPStatus
from urllib.parse import urlencode

import pytest
import time_machine
from django.core.handlers.asgi import ASGIRequest
from rest_framework.test import APIClient

from jobs import events, watch
from jobs.asgi import answer_cached_poll
from tenancy import caching
from tenancy.models import ApiToken
from tenancy.services import token_revoke
from tests.jobs.watch.conftest import subscribed, until
from tests.jobs.watch.test_events import headers, ref

pytestmark = [pytest.mark.django_db]


def scope_of(
    query: list[tuple[str, str]],
    sent: dict[str, str],
    host: str = "testserver",
    path: str = "/api/events",
):
    """An ASGI scope of `GET <path>?<query>` (the event stream's) with the headers `sent`."""
    sent = {"Host": host, **sent}
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": urlencode(query).encode(),
        "headers": [(name.lower().encode(), value.encode()) for name, value in sent.items()],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 40000),
    }


def open_early(query, sent) -> events.EventStream | None:
    return events.fast_open(ASGIRequest(scope_of(query, sent), io.BytesIO()))


def warm(family, job, raw_key) -> bytes:
    """Poll the job until its token and snapshot are cached; return its body."""
    return read(family, job, raw_key).content


def read(family, job, raw_key):
    for _ in range(2):  # the first use of a token records it: the second is a cached one
        response = APIClient().get(family.poll_path(job), **family.headers(raw_key))
        assert response.status_code == HTTPStatus.OK
    return response


def converse(application, scope, during=None) -> list[dict]:
    """Send `scope` to the ASGI `application`; run `during()` in a thread once the request is
    held; return the messages sent back, up to the first body."""
    sent: list[dict] = []

    async def conversation() -> None:
        answered = asyncio.Event()

        async def receive() -> dict:
            await answered.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            sent.append(message)
            if message.get("body"):
                answered.set()

        task = asyncio.ensure_future(application(scope, receive, send))
        if during is not None:
            await asyncio.to_thread(during)
        await asyncio.wait_for(task, 10)

    asyncio.run(conversation())
    return sent


async def django_refuses(scope, receive, send) -> None:
    raise AssertionError("Django was asked what the cache could answer.")


def test_a_stream_of_cached_jobs_opens_with_no_query(
    family, tenant, raw_key, django_assert_num_queries
):
    jobs = [family.make(tenant), family.make(tenant)]
    bodies = [warm(family, job, raw_key) for job in jobs]

    with django_assert_num_queries(0):
        stream = open_early([("job", ref(family, job)) for job in jobs], headers(family, raw_key))
        frames = stream.catch_up()

    assert stream is not None
    assert [job.tenant_id for job in stream.jobs] == [tenant.pk, tenant.pk]
    for body in bodies:
        assert b"data: " + body + b"\n\n" in frames
    assert stream.event_id() == ",".join(job.tag for job in stream.jobs)


@pytest.mark.parametrize("cache", ["missing", "stale"])
def test_a_job_whose_snapshot_is_missing_costs_its_load_and_a_stale_one_its_revision(
    cache, family, tenant, raw_key, settings, django_assert_num_queries
):
    # A stale snapshot well within its lifetime, as in production (the suite's bound is long).
    settings.JOBDESK_SNAPSHOT_SECONDS, settings.JOBDESK_MAX_STALENESS_SECONDS = 3600, 60
    warm(family, family.make(tenant), raw_key)  # the token is cached
    job = family.make(tenant)
    snapshots = family.family.snapshots
    if cache == "stale":
        body = warm(family, job, raw_key)
        old = snapshots.lookup(job.pk)[0]
        stored_at = time.time() - settings.JOBDESK_MAX_STALENESS_SECONDS - 1
        snapshots.store(job.pk, dataclasses.replace(old, stored_at=stored_at))

    # A missing snapshot costs the job's load (all of a first poll's queries but the token's);
    # a stale one of a job that did not change, one query for its revision.
    queries = family.first_poll_queries - 1 if cache == "missing" else 1
    with django_assert_num_queries(queries):
        stream = open_early([("job", ref(family, job))], headers(family, raw_key))
    frames = stream.catch_up()

    stored = snapshots.lookup(job.pk)[0]
    assert stored is not None  # for the next stream
    assert caching.fresh(stored.stored_at)
    if cache == "stale":
        assert b"data: " + body + b"\n\n" in frames


def test_a_token_past_the_staleness_bound_is_loaded_again_and_the_stream_opens(
    family, tenant, raw_key, settings, django_assert_num_queries
):
    job = family.make(tenant)
    body = warm(family, job, raw_key)
    later = time.time() + settings.JOBDESK_MAX_STALENESS_SECONDS + 1
    settings.JOBDESK_TOKEN_LAST_USED_INTERVAL_SECONDS = 10 * 24 * 3600  # no use to record

    with (
        time_machine.travel(later, tick=False),
        django_assert_num_queries(
            family.first_poll_queries  # the token's load, then the job's
        ),
    ):
        stream = open_early([("job", ref(family, job))], headers(family, raw_key))

    assert stream is not None
    assert b"data: " + body + b"\n\n" in stream.catch_up()


@pytest.mark.parametrize("stale", ["token", "token and snapshot"])
def test_a_read_past_the_staleness_bound_is_still_answered_early(
    stale, family, tenant, raw_key, settings, django_assert_max_num_queries
):
    job = family.make(tenant)
    first = read(family, job, raw_key)
    scope = scope_of(
        [("wait", "5")],
        {**headers(family, raw_key), "If-None-Match": first["ETag"]},
        path=family.poll_path(job),
    )
    snapshot = family.family.snapshots.lookup(job.pk)[0]
    later = time.time() + settings.JOBDESK_MAX_STALENESS_SECONDS + 1
    settings.JOBDESK_TOKEN_LAST_USED_INTERVAL_SECONDS = 10 * 24 * 3600  # no use to record

    with time_machine.travel(later, tick=False):
        if stale == "token":  # the job's snapshot is fresh then (stored again)
            family.family.snapshots.store(job.pk, dataclasses.replace(snapshot, stored_at=later))
        with django_assert_max_num_queries(family.first_poll_queries):  # loads, no request
            response = answer_cached_poll(scope)
        again = answer_cached_poll(scope)

    assert response.status_code == HTTPStatus.NOT_MODIFIED
    assert response["ETag"] == first["ETag"]
    assert again.status_code == HTTPStatus.NOT_MODIFIED  # and now from the cache alone


@pytest.mark.parametrize(
    "case",
    [
        "revoked token",
        "another tenant's job, not cached",
        "no credential",
        "unknown token",
        "no permission",
        "another tenant's job",
        "junk id",
        "unknown family",
        "up to date",
        "a cookie",
    ],
)
def test_what_the_cache_cannot_answer_is_left_to_the_view(
    case, family, tenant, other_tenant, raw_key, make_member, make_token
):
    job = family.make(tenant)
    query, sent = [("job", ref(family, job))], headers(family, raw_key)
    warm(family, job, raw_key)
    if case == "no credential":
        sent = {}
    elif case == "unknown token":
        sent = headers(family, raw_key[:-4] + "AAAA")
    elif case == "no permission":
        no_rights = make_token(make_member(tenant, "nothing", permissions=[]), tenant)
        warm(family, job, raw_key)
        APIClient().get(family.poll_path(job), **family.headers(no_rights))
        sent = headers(family, no_rights)
    elif case == "another tenant's job":
        theirs = family.make(other_tenant)
        their_key = make_token(
            make_member(other_tenant, "reader", permissions=[family.family.read_permission]),
            other_tenant,
        )
        warm(family, theirs, their_key)
        query = [("job", ref(family, theirs))]
    elif case == "revoked token":
        token_revoke(token=ApiToken.objects.get(prefix=raw_key[:10]))
    elif case == "another tenant's job, not cached":
        query = [("job", ref(family, family.make(other_tenant)))]
    elif case == "junk id":
        query = [("job", f"{family.name}:junk")]
    elif case == "unknown family":
        query = [("job", f"nope:{job.pk}")]
    elif case == "up to date":
        family.finish(job)
        warm(family, job, raw_key)
        seen = open_early(query, sent)
        seen.catch_up()  # what a client that read the stream to its end has
        sent = {**sent, "Last-Event-ID": seen.event_id()}
    elif case == "a cookie":  # a session may be what authenticates it: the view decides
        from config.asgi import application

        assert application.open_early(scope_of(query, {**sent, "Cookie": "sessionid=x"})) is None
        return

    assert open_early(query, sent) is None


def test_a_request_the_middleware_would_refuse_is_left_to_django(family, tenant, raw_key):
    from config.asgi import application

    job = family.make(tenant)
    warm(family, job, raw_key)
    query = [("job", ref(family, job))]

    assert application.open_early(scope_of(query, headers(family, raw_key))) is not None
    bad_host = scope_of(query, headers(family, raw_key), host="evil.example")
    assert application.open_early(bad_host) is None


def test_the_asgi_layer_streams_a_cached_job_without_asking_django(
    family, tenant, raw_key, monkeypatch
):
    from config.asgi import application

    job = family.make(tenant)
    body = warm(family, job, raw_key)
    monkeypatch.setattr(application, "django", django_refuses)

    sent = converse(application, scope_of([("job", ref(family, job))], headers(family, raw_key)))

    assert sent[0]["status"] == HTTPStatus.OK
    assert (b"content-type", b"text/event-stream; charset=utf-8") in sent[0]["headers"]
    assert sent[1]["body"].startswith(f"event: {family.name}\n".encode())
    assert b"data: " + body + b"\n\n" in sent[1]["body"]


@pytest.mark.django_db(transaction=True)  # the change commits in a thread of its own
@pytest.mark.parametrize("outcome", ["changed", "timed out"])
def test_a_cached_wait_is_held_and_answered_without_asking_django(
    outcome, family, tenant, raw_key, monkeypatch
):
    from config.asgi import application

    job = family.make(tenant)
    first = read(family, job, raw_key)
    monkeypatch.setattr(application, "django", django_refuses)
    seconds = "10" if outcome == "changed" else "0.2"
    scope = scope_of(
        [("wait", seconds)],
        {**headers(family, raw_key), "If-None-Match": first["ETag"]},
        path=family.poll_path(job),
    )

    def change() -> None:
        until(lambda: subscribed(family.name, job.pk), "the wait listens")
        next(iter(family.writes().values()))(job)

    sent = converse(application, scope, during=change if outcome == "changed" else None)

    answer = {name.decode(): value.decode() for name, value in sent[0]["headers"]}
    if outcome == "changed":
        assert sent[0]["status"] == HTTPStatus.OK
        now = APIClient().get(family.poll_path(job), **family.headers(raw_key))
        assert sent[1]["body"] == now.content != first.content
        assert answer["ETag"] == now["ETag"]
    else:
        assert sent[0]["status"] == HTTPStatus.NOT_MODIFIED
        assert answer["ETag"] == first["ETag"]
        assert sent[1]["body"] == b""


def run(coroutine):
    return asyncio.run(coroutine)


def test_a_change_is_read_once_for_every_stream_that_heard_it(monkeypatch, family):
    reads = []

    def counted(family_, pk):
        reads.append(pk)
        return f"snapshot {len(reads)}"

    monkeypatch.setattr(events, "current_snapshot", counted)
    shared = events.SharedReads()
    first = watch.JobChange(family.name, 1, "7", 2, "running", "progress")
    second = dataclasses.replace(first, version=3)

    async def streams_hear(change, count):
        return await asyncio.gather(*(shared.read(family.family, 7, change) for _ in range(count)))

    async def scenario():
        return await streams_hear(first, 100), await streams_hear(second, 100)

    heard_first, heard_second = run(scenario())

    assert reads == [7, 7]
    assert set(heard_first) == {"snapshot 1"}
    assert set(heard_second) == {"snapshot 2"}


def test_heartbeats_read_the_access_version_once_a_second_for_every_stream(monkeypatch):
    reads = []
    now = [1000.0]

    def counted():
        reads.append(now[0])
        return 41 + len(reads)

    monkeypatch.setattr(events, "read_auth_version", counted)
    versions = events.AuthVersions(clock=lambda: now[0])

    async def heartbeats(count):
        return await asyncio.gather(*(versions.read() for _ in range(count)))

    async def scenario():
        first = await heartbeats(500)
        now[0] += 0.5
        same = await heartbeats(500)
        now[0] += 0.6
        later = await heartbeats(500)
        return first, same, later

    first, same, later = run(scenario())

    assert reads == [1000.0, 1001.1]
    assert set(first) == set(same) == {42}
    assert set(later) == {43}


@pytest.mark.django_db(transaction=True)
def test_a_shared_read_another_principal_may_not_read_is_never_shown(
    family, tenant, other_tenant, raw_key, monkeypatch
):
    job = family.make(tenant)
    warm(family, job, raw_key)
    stream = open_early([("job", ref(family, job))], headers(family, raw_key))
    stream.catch_up()
    snapshot = stream.jobs[0].snapshot
    forged = dataclasses.replace(snapshot, tenant_id=other_tenant.pk, data={"forged": True})
    monkeypatch.setattr(events, "current_snapshot", lambda family_, pk: forged)
    family.finish(job)
    change = watch.JobChange(family.name, tenant.pk, str(job.pk), None, None, "changed")

    frame = run(stream.aon_change(change))

    assert b"forged" not in frame
    assert frame.startswith(f"event: {family.name}\n".encode())
    assert stream.jobs[0].snapshot.tenant_id == tenant.pk


@pytest.mark.django_db(transaction=True)  # the change commits in a thread of its own
def test_a_change_between_an_early_open_and_its_stream_starting_is_heard(family, tenant, raw_key):
    job = family.make(tenant)
    before = warm(family, job, raw_key)
    request = ASGIRequest(
        scope_of([("job", ref(family, job))], headers(family, raw_key)), io.BytesIO()
    )

    async def scenario() -> list[bytes]:
        loop = asyncio.get_running_loop()
        stream = await asyncio.to_thread(events.fast_open, request, loop)
        # The job changes after the stream read it, before the stream runs.
        await asyncio.to_thread(next(iter(family.writes().values())), job)
        frames = stream.aframes()
        try:
            return [await asyncio.wait_for(anext(frames), 10) for _ in range(2)]
        finally:
            await frames.aclose()

    first, second = run(scenario())

    assert b"data: " + before + b"\n\n" in first
    after = APIClient().get(family.poll_path(job), **family.headers(raw_key)).content
    assert after != before
    assert b"data: " + after + b"\n\n" in second
    assert not subscribed(family.name, job.pk)  # the stream's subscription is closed


def test_early_answers_give_back_the_database_connection_their_thread_took(
    family, tenant, raw_key, monkeypatch
):
    # Under ASGI connections are pooled: a thread of the loop's pool that kept one (a token or
    # a job loaded again) would hold it from every request for good.
    from config.asgi import application

    job = family.make(tenant)
    first = read(family, job, raw_key)
    given_back = []
    monkeypatch.setattr(events, "close_old_connections", lambda: given_back.append(True))
    stream_scope = scope_of([("job", ref(family, job))], headers(family, raw_key))
    read_scope = scope_of(
        [("wait", "0")],
        {**headers(family, raw_key), "If-None-Match": first["ETag"]},
        path=family.poll_path(job),
    )

    converse(application, stream_scope)
    opened = len(given_back)
    converse(application, read_scope)

    assert opened >= 1
    assert len(given_back) > opened


def test_a_read_with_an_unusable_token_reads_no_job_before_the_view_refuses_it(
    family, tenant, raw_key, django_assert_num_queries
):
    job = family.make(tenant)
    snapshots = family.family.snapshots
    caching.forget(snapshots.snapshot_key(job.pk))
    scope = scope_of([], headers(family, raw_key[:-4] + "AAAA"), path=family.poll_path(job))

    with django_assert_num_queries(1):  # the token's lookup, which finds none
        assert answer_cached_poll(scope) is None

    assert snapshots.lookup(job.pk)[0] is None  # nothing read for it, nothing stored
