"""Server-sent events at /api/events, over real HTTP: the threaded WSGI live server, and
uvicorn serving the ASGI application (config.asgi), which runs streams in its event loop."""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from urllib.parse import urlencode, urlsplit

import pytest
from rest_framework.test import APIClient

from tenancy.models import ApiToken
from tenancy.services import token_revoke
from tests.jobs.drivers import drivers
from tests.jobs.watch.conftest import until_listening

pytestmark = [pytest.mark.django_db(transaction=True)]

# Heartbeats a tenth of a second apart: the tests that wait for one (or for the check of access
# that comes with it) wait that long, not the production 15 s.
HEARTBEAT_SECONDS = 0.1


@pytest.fixture(params=["wsgi", pytest.param("asgi", marks=pytest.mark.e2e)])
def server(request, live_server):
    """The server streaming events: Django's live server (WSGI), or uvicorn (ASGI)."""
    return live_server if request.param == "wsgi" else request.getfixturevalue("asgi_server")


@pytest.fixture
def their_key(make_member, make_token, other_tenant, family) -> str:
    user = make_member(other_tenant, "reader", permissions=[family.family.read_permission])
    return make_token(user, other_tenant)


def ref(family, job) -> str:
    return f"{family.name}:{job.pk}"


def events_url(server, *refs: str) -> str:
    return f"{server.url}/api/events?{urlencode([('job', each) for each in refs])}"


def headers(family, raw_key: str, **extra: str) -> dict[str, str]:
    name = "X-Auth-Token" if family.poll_header == "X-Auth-Token" else "Authorization"
    value = raw_key if name == "X-Auth-Token" else f"Bearer {raw_key}"
    return {name: value, **extra}


def read_body(server, family, job, raw_key: str) -> bytes:
    """Return the job's body as its family's read answers it (same host as the stream)."""
    host = urlsplit(server.url)
    client = APIClient(SERVER_NAME=host.hostname)
    response = client.get(family.poll_path(job), HTTP_HOST=host.netloc, **family.headers(raw_key))
    return response.content


def test_a_stream_sends_the_familys_body_then_each_change_then_ends(
    server, family, tenant, raw_key, open_stream
):
    job = family.make(tenant)
    stream = open_stream(events_url(server, ref(family, job)), headers(family, raw_key))

    assert stream.status_code == HTTPStatus.OK
    assert stream.response.headers["Content-Type"].startswith("text/event-stream")
    first = stream.events(1)[0]
    assert first["event"] == family.name
    assert first["data"].encode() == read_body(server, family, job, raw_key)

    until_listening(server, family.name, job.pk)
    write = next(iter(family.writes().values()))
    write(job)
    second = stream.events(1)[0]
    assert second["data"].encode() == read_body(server, family, job, raw_key)
    assert second["data"] != first["data"]
    assert second["id"] != first["id"]

    if family.family.is_pending(family.reload(job)):
        family.finish(job)
        last = stream.events(1)[0]
        assert last["data"].encode() == read_body(server, family, job, raw_key)
    assert stream.events(1)[0]["event"] == "end"
    assert stream.next() is None  # closed by the server


def test_a_dropped_stream_resumes_from_last_event_id_with_only_what_it_missed(
    server, settings, family, tenant, raw_key, open_stream
):
    settings.JOBDESK_EVENTS_HEARTBEAT_SECONDS = HEARTBEAT_SECONDS
    job = family.make(tenant)
    url = events_url(server, ref(family, job))
    first = open_stream(url, headers(family, raw_key)).events(1)[0]

    unchanged = open_stream(url, headers(family, raw_key, **{"Last-Event-ID": first["id"]}))
    assert unchanged.next() == {"comment": ": keep-alive"}  # nothing it has already
    unchanged.close()

    family.finish(job)  # while nobody listens
    resumed = open_stream(url, headers(family, raw_key, **{"Last-Event-ID": first["id"]}))
    missed = resumed.events(2)
    assert missed[0]["data"].encode() == read_body(server, family, job, raw_key)
    assert missed[1]["event"] == "end"

    again = open_stream(url, headers(family, raw_key, **{"Last-Event-ID": missed[0]["id"]}))
    assert again.status_code == HTTPStatus.NO_CONTENT  # EventSource stops reconnecting


def test_heartbeats_keep_a_quiet_stream_open(
    server, settings, family, tenant, raw_key, open_stream
):
    settings.JOBDESK_EVENTS_HEARTBEAT_SECONDS = HEARTBEAT_SECONDS
    job = family.make(tenant)
    stream = open_stream(events_url(server, ref(family, job)), headers(family, raw_key))
    stream.events(1)

    assert stream.next() == {"comment": ": keep-alive"}


def test_another_tenants_job_is_the_familys_404_and_streams_nothing(
    server, family, tenant, other_tenant, raw_key, their_key, open_stream
):
    theirs = family.make(other_tenant)
    mine = family.make(tenant)
    before = read_body(server, family, theirs, their_key)

    for refs in ([ref(family, theirs)], [ref(family, mine), ref(family, theirs)]):
        stream = open_stream(events_url(server, *refs), headers(family, raw_key))
        body = stream.response.read()
        assert stream.status_code == HTTPStatus.NOT_FOUND
        assert family.error_key in json.loads(body)
        # The id as a whole number: a `404` in the body is not the id 4.
        assert re.search(rf"(?<![0-9a-f]){theirs.pk}(?![0-9a-f])".encode(), body) is None
    assert read_body(server, family, theirs, their_key) == before


def test_no_change_of_another_tenant_ever_reaches_a_stream(
    server, family, tenant, other_tenant, raw_key, open_stream
):
    mine, theirs = family.make(tenant), family.make(other_tenant)
    stream = open_stream(events_url(server, ref(family, mine)), headers(family, raw_key))
    stream.events(1)
    until_listening(server, family.name, mine.pk)

    family.finish(theirs)
    family.finish(mine)
    rest = stream.events(3)

    assert [event["event"] for event in rest] == [family.name, "end"]
    assert rest[0]["data"].encode() == read_body(server, family, mine, raw_key)


def test_a_revoked_token_ends_its_stream(server, settings, family, tenant, raw_key, open_stream):
    settings.JOBDESK_EVENTS_HEARTBEAT_SECONDS = HEARTBEAT_SECONDS
    job = family.make(tenant)
    stream = open_stream(events_url(server, ref(family, job)), headers(family, raw_key))
    stream.events(1)

    token_revoke(token=ApiToken.objects.get(prefix=raw_key[:10]))

    assert stream.events(1) == []  # the server closed it
    refused = open_stream(events_url(server, ref(family, job)), headers(family, raw_key))
    assert refused.status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.parametrize(
    "query",
    ["", "job=", "job=progress", "job=nope:1", "job=:1", "jobs=progress:1"],
    ids=["none", "empty", "no-id", "unknown-family", "no-family", "misspelt"],
)
def test_a_request_that_names_no_job_rightly_is_a_400_in_jobdesks_envelope(
    query, raw_key, family, tenant
):
    response = APIClient().get(f"/api/events?{query}", HTTP_AUTHORIZATION=f"Bearer {raw_key}")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["errors"][0]["message"]


def test_more_jobs_than_a_stream_takes_is_a_400(raw_key, family, tenant):
    query = urlencode([("job", f"progress:{n}") for n in range(1, 52)])

    response = APIClient().get(f"/api/events?{query}", HTTP_AUTHORIZATION=f"Bearer {raw_key}")

    assert response.status_code == HTTPStatus.BAD_REQUEST


@pytest.mark.parametrize("raw_id", ["junk", "-1", "9" * 40, "%00", "0"])
def test_a_junk_id_is_answered_as_the_familys_read_answers_it(family, raw_key, tenant, raw_id):
    job = family.make(tenant)
    # The id ends the path; replacing it elsewhere would break `/v1/` when the id is 1.
    read_path = family.poll_path(job).removesuffix(str(job.pk)) + raw_id
    read = APIClient().get(read_path, **family.headers(raw_key))

    response = APIClient().get(f"/api/events?job={family.name}:{raw_id}", **family.headers(raw_key))

    assert response.status_code == read.status_code
    assert 400 <= response.status_code < 500
    assert family.error_key in response.json()


def test_a_job_named_twice_is_streamed_once(server, family, tenant, raw_key, open_stream):
    job = family.make(tenant)
    url = events_url(server, ref(family, job), ref(family, job))

    stream = open_stream(url, headers(family, raw_key))
    family.finish(job)

    assert [event["event"] for event in stream.events(3)][-1] == "end"
    assert len(stream.events(1)) == 0


def test_no_credentials_is_a_401_and_no_permission_a_403_in_the_familys_envelope(
    family, tenant, make_member, make_token
):
    job = family.make(tenant)
    url = f"/api/events?job={family.name}:{job.pk}"
    no_rights = make_token(make_member(tenant, "nothing", permissions=[]), tenant)

    anonymous = APIClient().get(url)
    refused = APIClient().get(url, **family.headers(no_rights))

    assert anonymous.status_code == HTTPStatus.UNAUTHORIZED
    assert refused.status_code == HTTPStatus.FORBIDDEN
    assert family.error_key in anonymous.json()
    assert family.error_key in refused.json()


def test_every_family_can_be_streamed():
    assert all(each.family.read_view for each in drivers())
