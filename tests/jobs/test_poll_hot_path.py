"""The poll hot path of every family: query budgets, ETag/304, Retry-After, no stale reads.

Each registered family's job read is driven through the same cases; its test driver (see
`tests/jobs/drivers.py`) knows how to make a job, poll it, and change it through each of its
write services. The oracle for "no stale read" is
the database itself: after a write, a poll must equal the poll made with an empty cache.
"""

from __future__ import annotations

import dataclasses
import re
import time
from datetime import timedelta
from http import HTTPStatus

import pytest
import time_machine
from asgiref.sync import async_to_sync
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import AsyncClient, RequestFactory
from django.urls import clear_url_caches, get_resolver, resolve, set_script_prefix
from django.utils import timezone
from prometheus_client import REGISTRY
from rest_framework.serializers import BaseSerializer

from asset_jobs.models import Instance
from asset_jobs.services import instance_set_status_spelling
from jobs import middleware, polling
from jobs.family import unbound_serializer
from jobs.middleware import PollFastPathMiddleware
from jobs.polling import CachedPollMixin
from jobs.wsgi import CachedPollApplication
from progress import services as progresses
from tenancy import authentication, caching
from tenancy.authentication import digest_key, token_cache_key
from tenancy.models import ApiToken, Role, new_project_id
from tenancy.services import membership_grant, membership_revoke, token_revoke
from tests.conftest import clear_cache
from tests.jobs.drivers import FamilyDriver, driver, drivers

METRIC_COUNT = "jobdesk_http_request_duration_seconds_count"

pytestmark = pytest.mark.django_db


WRITES = [(each.name, write) for each in drivers() for write in each.writes()]


@pytest.fixture(params=drivers(), ids=lambda each: each.name)
def family(request) -> FamilyDriver:
    return request.param


@pytest.fixture
def operator(make_member, tenant):
    return make_member(tenant, "operations")


@pytest.fixture
def raw_key(operator, tenant, make_token) -> str:
    return make_token(operator, tenant)


@pytest.fixture
def poll(api_client, family, raw_key):
    """Return a function polling a job (with extra headers) as the tenant's operator."""

    def get(job, *, key: str | None = None, path: str | None = None, **extra):
        path = path or family.poll_path(job)
        return api_client.get(path, **family.headers(key or raw_key), **extra)

    return get


@pytest.fixture
def job(family, tenant, operator):
    return family.make(tenant)


def fresh_poll(poll, job, **extra):
    """Return the poll as the database alone answers it (nothing cached)."""
    clear_cache()
    return poll(job, **extra)


# Query budgets -------------------------------------------------------------------------------


def test_first_poll_with_nothing_cached_costs_token_and_job_queries(
    family, job, poll, django_assert_max_num_queries
):
    family.with_child_rows(job)  # a read loads those too
    assert poll(job).status_code == HTTPStatus.OK  # the token's first use writes last_used_at
    clear_cache()

    with django_assert_max_num_queries(family.first_poll_queries):
        response = poll(job)

    assert response.status_code == HTTPStatus.OK


def test_first_poll_of_a_job_with_a_cached_token_costs_only_the_job(
    family, tenant, job, poll, django_assert_max_num_queries
):
    other = family.make(tenant)
    assert poll(other).status_code == HTTPStatus.OK  # caches the token

    with django_assert_max_num_queries(family.first_poll_queries - 1):
        response = poll(job)

    assert response.status_code == HTTPStatus.OK


def test_a_repeated_poll_of_an_unchanged_job_runs_no_query(job, poll, django_assert_num_queries):
    first = poll(job)

    with django_assert_num_queries(0):
        again = poll(job)

    assert again.status_code == HTTPStatus.OK
    assert again.content == first.content
    assert again["ETag"] == first["ETag"]


def test_if_none_match_answers_304_with_no_body_and_no_query(job, poll, django_assert_num_queries):
    etag = poll(job)["ETag"]

    with django_assert_num_queries(0):
        response = poll(job, HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == HTTPStatus.NOT_MODIFIED
    assert response.content == b""
    assert response["ETag"] == etag
    assert response["Cache-Control"] == "private, no-cache"


def test_the_304_path_also_holds_when_the_snapshot_is_loaded_from_the_database(job, poll):
    etag = poll(job)["ETag"]
    clear_cache()

    response = poll(job, HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == HTTPStatus.NOT_MODIFIED


@pytest.mark.parametrize(
    "header", ["W/{etag}", '"nope", {etag}', "*"], ids=["weak", "list", "star"]
)
def test_if_none_match_compares_weakly_and_accepts_lists_and_star(job, poll, header):
    etag = poll(job)["ETag"]

    response = poll(job, HTTP_IF_NONE_MATCH=header.format(etag=etag))

    assert response.status_code == HTTPStatus.NOT_MODIFIED


def test_an_old_etag_gets_the_new_body(family, job, poll):
    old = poll(job)["ETag"]
    family.finish(job)

    response = poll(job, HTTP_IF_NONE_MATCH=old)

    assert response.status_code == HTTPStatus.OK
    assert response["ETag"] != old
    assert response.content


def test_the_etag_is_strong_and_names_the_body(job, poll, api_client, family, raw_key):
    response = poll(job)

    assert response["ETag"].startswith('"')
    assert not response["ETag"].startswith("W/")
    if family.body_names_the_host:  # another representation (absolute url host) -> another tag
        other_host = api_client.get(
            family.poll_path(job), HTTP_HOST="localhost", **family.headers(raw_key)
        )
        assert other_host.content != response.content
        assert other_host["ETag"] != response["ETag"]


# No stale reads ------------------------------------------------------------------------------


@pytest.mark.parametrize(("family_name", "write"), WRITES)
def test_every_write_service_shows_on_the_very_next_poll(
    family_name, write, tenant, operator, api_client, raw_key
):
    family = driver(family_name)
    job = family.make(tenant)
    headers = family.headers(raw_key)
    before = api_client.get(family.poll_path(job), **headers)

    family.writes()[write](job)
    after = api_client.get(family.poll_path(job), **headers, HTTP_IF_NONE_MATCH=before["ETag"])

    assert after.status_code == HTTPStatus.OK
    assert after.content != before.content
    assert after["ETag"] != before["ETag"]
    clear_cache()
    truth = api_client.get(family.poll_path(job), **headers)
    assert after.content == truth.content
    assert after["ETag"] == truth["ETag"]


@pytest.mark.parametrize(("family_name", "write"), WRITES)
def test_a_committed_write_replaces_the_snapshot_so_the_next_poll_runs_no_query(
    family_name,
    write,
    tenant,
    operator,
    api_client,
    raw_key,
    django_capture_on_commit_callbacks,
    django_assert_num_queries,
):
    family = driver(family_name)
    job = family.make(tenant)
    headers = family.headers(raw_key)
    api_client.get(family.poll_path(job), **headers)

    with django_capture_on_commit_callbacks(execute=True):
        family.writes()[write](job)
    with django_assert_num_queries(0):
        after = api_client.get(family.poll_path(job), **headers)

    clear_cache()
    assert after.content == api_client.get(family.poll_path(job), **headers).content


def test_a_purged_job_is_gone_from_the_next_poll(family, job, poll):
    family.finish(job)
    assert poll(job).status_code == HTTPStatus.OK

    family.purge(job)

    assert poll(job).status_code == HTTPStatus.NOT_FOUND


def test_a_reader_that_raced_a_write_cannot_make_its_old_body_current(family, job, poll):
    """A poll reads the version, then the row; a write commits in between; the poll stores."""
    snapshots = family.family.snapshots
    found = caching.read_many(snapshots.keys(job.pk))
    snapshots.version_before_load(job.pk, found)
    before = snapshots.family.wire_jobs().get(pk=job.pk)
    stale = snapshots.capture(before, found)  # read before the write

    family.finish(job)  # the write bumps the version
    snapshots.store(job.pk, stale)  # the racing reader stores what it read

    assert poll(job).content == fresh_poll(poll, job).content


# Retry-After and Cache-Control -----------------------------------------------------------------


def test_a_pending_job_says_when_to_poll_again_and_a_finished_one_does_not(family, job, poll):
    pending = poll(job)
    family.finish(job)
    finished = poll(job)

    assert pending["Retry-After"] == "1"
    assert "Retry-After" not in finished
    assert pending["Cache-Control"] == finished["Cache-Control"] == "private, no-cache"


def test_retry_after_is_configurable_per_tag_or_type(settings, tenant, poll, family):
    job = family.make(tenant)
    kind = family.family.kind_of(job)  # a Canvas tag, a ROMA type; None: the default applies
    settings.JOBDESK_RETRY_AFTER_SECONDS = 3
    settings.JOBDESK_RETRY_AFTER = {family.name: {kind: 7}} if kind else {}

    assert poll(job)["Retry-After"] == ("7" if kind else "3")


def test_errors_are_not_stored_by_shared_caches_either(poll, job):
    response = poll(job, key="jd_unknown")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    cache_control = response["Cache-Control"]
    assert "private" in cache_control or "no-store" in cache_control


# Security --------------------------------------------------------------------------------------


def test_another_tenants_cached_job_is_still_not_found(
    family, other_tenant, make_member, make_token, poll
):
    theirs = family.make(other_tenant)
    their_key = make_token(make_member(other_tenant, "operations"), other_tenant)
    assert poll(theirs, key=their_key).status_code == HTTPStatus.OK  # now cached

    response = poll(theirs)

    # As it does uncached: ROMA answers a project that is not the token's with 403.
    assert response.status_code == family.other_tenants_job_status
    assert b"started" not in response.content
    assert b'"id"' not in response.content


def test_a_revoked_token_is_refused_on_the_very_next_request(family, job, poll, raw_key):
    assert poll(job).status_code == HTTPStatus.OK

    token_revoke(token=ApiToken.objects.get(digest=digest_key(raw_key)))

    assert poll(job).status_code == HTTPStatus.UNAUTHORIZED


def test_an_expired_token_is_refused_although_cached(
    job, poll, operator, tenant, make_token, monkeypatch
):
    key = make_token(operator, tenant, expires_at=timezone.now() + timedelta(hours=1))
    assert poll(job, key=key).status_code == HTTPStatus.OK
    later = timezone.now() + timedelta(hours=2)
    monkeypatch.setattr("tenancy.models.timezone.now", lambda: later)

    assert poll(job, key=key).status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.parametrize("change", ["role", "membership", "user", "tenant"])
def test_losing_access_takes_effect_on_the_next_request(
    family, job, poll, operator, tenant, change
):
    assert poll(job).status_code == HTTPStatus.OK

    if change == "role":
        membership_grant(user=operator, tenant=tenant, role_name="no-rights")
    elif change == "membership":
        membership_revoke(user=operator, tenant=tenant)
    elif change == "user":
        operator.is_active = False
        operator.save()
    else:
        tenant.is_active = False
        tenant.save()

    assert poll(job).status_code in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN)


@pytest.fixture(autouse=True)
def no_rights_role(db):
    Role.objects.get_or_create(name="no-rights", defaults={"permissions": []})


# The fast path answers exactly as the full path ------------------------------------------------


def test_a_cached_answer_is_the_uncached_answer_byte_for_byte(family, job, poll):
    for accept in family.accepts:
        clear_cache()
        extra = {} if accept is None else {"HTTP_ACCEPT": accept}
        uncached = poll(job, **extra)
        cached = poll(job, **extra)

        assert uncached.status_code == HTTPStatus.OK, accept
        assert cached.content == uncached.content, accept
        ignored = {"X-Request-Id"}  # ROMA: a new id for every response, by design
        assert {k: v for k, v in cached.items() if k not in ignored} == {
            k: v for k, v in uncached.items() if k not in ignored
        }, accept


def test_a_warm_family_describes_a_job_without_building_a_serializer(
    family, job, tenant, monkeypatch
):
    # One serializer per class, its fields built once (jobs.family.wire_data), whose output
    # is the job's alone: a second job, or a serializer made afresh, describes it the same.
    second = family.make(tenant)
    family.with_child_rows(second)
    loaded = family.family.snapshots.load
    first = family.family.describe(loaded(job.pk))
    made = []
    original = BaseSerializer.__init__

    def counted(self, *args, **kwargs):
        made.append(type(self))
        original(self, *args, **kwargs)

    monkeypatch.setattr(BaseSerializer, "__init__", counted)
    again = family.family.describe(loaded(job.pk))
    other = family.family.describe(loaded(second.pk))
    monkeypatch.undo()
    unbound_serializer.cache_clear()

    assert made == []
    assert again == first == family.family.describe(loaded(job.pk))
    assert other == family.family.describe(loaded(second.pk)) != first


def without_request_id(response) -> dict[str, str]:
    return {k: v for k, v in response.items() if k != "X-Request-Id"}


@pytest.fixture
def views_dispatched(monkeypatch) -> list[str]:
    """Record the paths that reached a family view, past the middleware."""
    calls = []
    original = CachedPollMixin.dispatch

    def recording(self, request, *args, **kwargs):
        calls.append(request.path)
        return original(self, request, *args, **kwargs)

    monkeypatch.setattr(CachedPollMixin, "dispatch", recording)
    return calls


def test_a_cached_poll_is_answered_before_the_view_with_the_full_stacks_headers(
    settings, job, poll, views_dispatched
):
    # Production's transport security, over HTTPS: every header the stack adds is present.
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = settings.SECURE_HSTS_PRELOAD = True
    poll(job, secure=True)  # the token's first use is written: the next one is cached
    uncached = fresh_poll(lambda job: poll(job, secure=True), job)
    reached_the_view = len(views_dispatched)
    cached = poll(job, secure=True)

    assert len(views_dispatched) == reached_the_view
    assert cached.status_code == uncached.status_code == HTTPStatus.OK
    assert cached.content == uncached.content
    assert without_request_id(cached) == without_request_id(uncached)
    assert {"Strict-Transport-Security", "X-Frame-Options", "Content-Length"} <= set(cached.headers)


def test_under_asgi_a_cached_poll_is_answered_early_too(
    family, job, poll, raw_key, views_dispatched
):
    poll(job)  # the token's first use is written
    expected = poll(job)
    reached_the_view = len(views_dispatched)
    (credential,) = family.headers(raw_key).values()

    response = async_to_sync(AsyncClient().get)(
        family.poll_path(job), headers={family.poll_header: credential}
    )

    assert len(views_dispatched) == reached_the_view
    assert response.content == expected.content
    assert without_request_id(response) == without_request_id(expected)


def lookups(family: FamilyDriver, result: str) -> float:
    """Return how many of the family's job reads the metrics count as a cache `result`."""
    labels = {"family": family.name, "result": result}
    return REGISTRY.get_sample_value("jobdesk_poll_snapshot_lookups_total", labels) or 0


def call_wsgi(application, path: str, **extra) -> tuple[str, dict[str, str], bytes]:
    """Return the status line, headers and body `application` answers a GET of `path` with."""
    environ = RequestFactory().get(path, **extra).environ
    started = []
    body = b"".join(application(environ, lambda status, headers: started.append((status, headers))))
    ((status, headers),) = started
    return status, dict(headers), body


@pytest.fixture
def wsgi_application(settings, monkeypatch):
    """Return a function making the served application (config.wsgi) with a counted handler.

    As Django's test client does, the handlers keep the test's database connection open, and
    so does a load before the handler (which gives its connection back).
    """
    monkeypatch.setattr(middleware, "close_old_connections", lambda: None)

    def make():
        handler = WSGIHandler()
        full_stack = handler.get_response
        handler.answered = []

        def counted(request):
            handler.answered.append(request.path)
            return full_stack(request)

        handler.get_response = counted
        return CachedPollApplication(handler), handler

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield make
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_under_wsgi_a_cached_poll_is_answered_before_django_as_the_full_stack_answers_it(
    settings, family, job, raw_key, wsgi_application
):
    # Production's transport security, over HTTPS: every header the stack adds is present.
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = settings.SECURE_HSTS_PRELOAD = True
    application, handler = wsgi_application()
    path = family.poll_path(job)
    extra = {**family.headers(raw_key), "secure": True}
    call_wsgi(WSGIHandler(), path, **extra)  # the token's first use is written
    for accept in family.accepts:
        clear_cache()
        sent = {**extra} if accept is None else {**extra, "HTTP_ACCEPT": accept}
        full_status, full_headers, full_body = call_wsgi(WSGIHandler(), path, **sent)
        handler.answered.clear()

        status, headers, body = call_wsgi(application, path, **sent)

        assert handler.answered == [], accept
        assert status == full_status == "200 OK", accept
        assert body == full_body, accept
        full_headers.pop("X-Request-Id", None)
        headers.pop("X-Request-Id", None)
        assert headers == full_headers, accept
        assert {"Strict-Transport-Security", "X-Frame-Options", "Content-Length"} <= set(headers)


def test_under_wsgi_a_cached_304_is_answered_before_django_too(
    family, job, raw_key, wsgi_application
):
    application, handler = wsgi_application()
    path = family.poll_path(job)
    call_wsgi(WSGIHandler(), path, **family.headers(raw_key))  # the token's first use
    _, first, _ = call_wsgi(WSGIHandler(), path, **family.headers(raw_key))
    conditional = {**family.headers(raw_key), "HTTP_IF_NONE_MATCH": first["ETag"]}
    full_status, full_headers, full_body = call_wsgi(WSGIHandler(), path, **conditional)

    status, headers, body = call_wsgi(application, path, **conditional)

    assert handler.answered == []
    assert status == full_status == "304 Not Modified"
    assert body == full_body == b""
    full_headers.pop("X-Request-Id", None)
    headers.pop("X-Request-Id", None)
    assert headers == full_headers


def wsgi_answer(application, path: str, **extra) -> tuple[str, list[tuple[str, str]], bytes]:
    """`call_wsgi`, with the headers in the order they are sent."""
    environ = RequestFactory().get(path, **extra).environ
    started = []
    body = b"".join(application(environ, lambda status, headers: started.append((status, headers))))
    ((status, headers),) = started
    return status, list(headers), body


def other_than_request_id(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, value) for name, value in headers if name != "X-Request-Id"]


@pytest.fixture
def answers_built(monkeypatch) -> list[str]:
    """Record each answer the fast path builds as an `HttpResponse` (not from its shape)."""
    built = []
    build = polling.poll_response

    def counted(request, *args, **kwargs):
        built.append(request.path)
        return build(request, *args, **kwargs)

    monkeypatch.setattr(polling, "poll_response", counted)
    return built


@pytest.mark.parametrize("conditional", [False, True], ids=["200", "304"])
def test_under_wsgi_an_answer_made_from_its_shape_is_the_full_stacks_header_for_header(
    conditional, settings, family, tenant, raw_key, wsgi_application, answers_built
):
    # Production's transport security, over HTTPS: every header the stack adds is present.
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    application, handler = wsgi_application()
    learnt, other = family.make(tenant), family.make(tenant)
    extra = {**family.headers(raw_key), "secure": True}
    call_wsgi(WSGIHandler(), family.poll_path(learnt), **extra)  # the token's first use

    def sent(job) -> dict[str, str]:
        if not conditional:
            return extra
        _, headers, _ = call_wsgi(WSGIHandler(), family.poll_path(job), **extra)
        return {**extra, "HTTP_IF_NONE_MATCH": headers["ETag"]}

    shaped = [wsgi_answer(application, family.poll_path(learnt), **sent(learnt)) for _ in range(2)]
    clear_cache()
    asked = sent(other)
    full_status, full_headers, full_body = wsgi_answer(
        WSGIHandler(), family.poll_path(other), **asked
    )
    answers_built.clear()

    status, headers, body = wsgi_answer(application, family.poll_path(other), **asked)

    assert answers_built == []  # made from the shape the two answers before agreed on
    assert handler.answered == []
    assert status == full_status == ("304 Not Modified" if conditional else "200 OK")
    assert body == full_body
    assert other_than_request_id(headers) == other_than_request_id(full_headers)
    assert shaped[0][1] != headers  # its own ETag (and Content-Length)
    assert {"Strict-Transport-Security", "X-Frame-Options", "ETag"} <= dict(headers).keys()
    request_ids = [dict(each[1]).get("X-Request-Id") for each in [*shaped, (status, headers)]]
    if "X-Request-Id" in dict(full_headers):  # ROMA's: one of its own for every answer
        assert len(set(request_ids)) == 3
        assert all(re.fullmatch("[0-9a-f]{32}", each) for each in request_ids)


def test_under_wsgi_an_answer_whose_headers_change_every_time_is_never_made_from_a_shape(
    family, job, raw_key, wsgi_application, answers_built, monkeypatch
):
    application, _ = wsgi_application()
    path = family.poll_path(job)
    view_class = resolve(path).func.cls
    finalize, answered = view_class.finalize_response, iter(range(1, 100))

    def numbered(self, request, response, *args, **kwargs):
        response = finalize(self, request, response, *args, **kwargs)
        response["X-Answer"] = str(next(answered))
        return response

    monkeypatch.setattr(view_class, "finalize_response", numbered)
    call_wsgi(application, path, **family.headers(raw_key))  # the token's first use
    answers_built.clear()

    numbers = [
        call_wsgi(application, path, **family.headers(raw_key))[1]["X-Answer"] for _ in range(4)
    ]

    assert numbers == ["2", "3", "4", "5"]
    assert answers_built == [path] * 4


def test_under_wsgi_one_application_answers_each_scheme_and_status_with_its_own_shape(
    settings, family, job, raw_key, wsgi_application, answers_built
):
    settings.SECURE_HSTS_SECONDS = 31536000
    application, _ = wsgi_application()
    path = family.poll_path(job)
    plain = family.headers(raw_key)
    call_wsgi(WSGIHandler(), path, **plain)  # the token's first use
    secure = {**plain, "secure": True}
    etag = call_wsgi(WSGIHandler(), path, **plain)[1]["ETag"]
    secure_etag = call_wsgi(WSGIHandler(), path, **secure)[1]["ETag"]  # Canvas' url: https
    asked = {
        "http": plain,
        "https": secure,
        "http 304": {**plain, "HTTP_IF_NONE_MATCH": etag},
        "https 304": {**secure, "HTTP_IF_NONE_MATCH": secure_etag},
    }
    for extra in asked.values():  # every shape learnt, one after the other
        for _ in range(2):
            wsgi_answer(application, path, **extra)
    answers_built.clear()

    answers = {name: wsgi_answer(application, path, **extra) for name, extra in asked.items()}

    assert answers_built == []
    for name, extra in asked.items():
        full = wsgi_answer(WSGIHandler(), path, **extra)
        status, headers, body = answers[name]
        assert (status, other_than_request_id(headers), body) == (
            full[0],
            other_than_request_id(full[1]),
            full[2],
        ), name
    assert "Strict-Transport-Security" in dict(answers["https"][1])
    assert "Strict-Transport-Security" not in dict(answers["http"][1])
    assert answers["http 304"][0] == answers["https 304"][0] == "304 Not Modified"


def test_under_wsgi_an_answer_with_a_header_no_shape_may_hold_is_always_built_in_full(
    family, job, raw_key, wsgi_application, answers_built, monkeypatch
):
    application, _ = wsgi_application()
    path = family.poll_path(job)
    view_class = resolve(path).func.cls
    finalize = view_class.finalize_response

    def with_header(self, request, response, *args, **kwargs):
        response = finalize(self, request, response, *args, **kwargs)
        response["X-Served-For"] = request.META.get("HTTP_X_CLIENT", "")
        return response

    monkeypatch.setattr(view_class, "finalize_response", with_header)
    call_wsgi(application, path, **family.headers(raw_key))  # the token's first use
    answers_built.clear()

    clients = ["a", "a", "a", "b"]
    served = [
        call_wsgi(application, path, **family.headers(raw_key), HTTP_X_CLIENT=client)[1]
        for client in clients
    ]

    assert [headers["X-Served-For"] for headers in served] == clients
    assert answers_built == [path] * 4


def test_an_answer_built_before_a_setting_changed_is_not_learnt_after_it(
    family, job, raw_key, wsgi_application, answers_built, settings
):
    application, _ = wsgi_application()
    path = family.poll_path(job)
    call_wsgi(application, path, **family.headers(raw_key))  # the token's first use
    learn, late = application.shapes.learn, []
    application.shapes.learn = late.append  # the answers' learning, held back

    for _ in range(2):
        call_wsgi(application, path, **family.headers(raw_key))
    settings.X_FRAME_OPTIONS = "SAMEORIGIN"
    for response in late:  # built before the change, learnt after it
        learn(response)
    application.shapes.learn = learn
    answers_built.clear()
    _, headers, _ = call_wsgi(application, path, **family.headers(raw_key))

    assert len(late) == 2
    assert headers["X-Frame-Options"] == "SAMEORIGIN"
    assert answers_built == [path]


def test_under_wsgi_a_changed_setting_shows_in_the_next_answer_of_a_known_shape(
    settings, family, job, raw_key, wsgi_application, answers_built
):
    application, _ = wsgi_application()
    path = family.poll_path(job)
    for _ in range(3):
        _, before, _ = call_wsgi(application, path, **family.headers(raw_key))
    answers_built.clear()

    settings.X_FRAME_OPTIONS = "SAMEORIGIN"
    _, after, _ = call_wsgi(application, path, **family.headers(raw_key))

    assert before["X-Frame-Options"] == "DENY"
    assert after["X-Frame-Options"] == "SAMEORIGIN"
    assert answers_built == [path]


def test_under_wsgi_each_answer_made_from_a_shape_has_its_own_retry_after_or_none(
    family, tenant, raw_key, wsgi_application, answers_built
):
    application, _ = wsgi_application()
    pending, finished = family.make(tenant), family.make(tenant)
    family.finish(finished)
    for job in (pending, finished, pending, finished):  # each shape twice: both learnt
        call_wsgi(application, family.poll_path(job), **family.headers(raw_key))
    answers_built.clear()

    answers = {
        job: wsgi_answer(application, family.poll_path(job), **family.headers(raw_key))
        for job in (pending, finished)
    }

    assert answers_built == []
    for job, (status, headers, body) in answers.items():
        clear_cache()
        full = wsgi_answer(WSGIHandler(), family.poll_path(job), **family.headers(raw_key))
        assert (status, other_than_request_id(headers), body) == (
            full[0],
            other_than_request_id(full[1]),
            full[2],
        )
    assert dict(answers[pending][1])["Retry-After"] == "1"
    assert "Retry-After" not in dict(answers[finished][1])


def test_under_wsgi_a_cached_poll_is_counted_in_the_request_metrics(
    family, job, raw_key, wsgi_application
):
    application, handler = wsgi_application()
    path = family.poll_path(job)
    call_wsgi(application, path, **family.headers(raw_key))  # the token's first use
    labels = {"method": "GET", "route": resolve(path).route, "status": "200"}
    before = REGISTRY.get_sample_value(METRIC_COUNT, labels)

    call_wsgi(application, path, **family.headers(raw_key))

    after = REGISTRY.get_sample_value(METRIC_COUNT, labels)
    assert handler.answered == []
    assert after == before + 1


def test_under_wsgi_what_the_fast_path_leaves_goes_to_django_which_does_not_try_again(
    family, job, raw_key, wsgi_application, monkeypatch
):
    application, handler = wsgi_application()
    path = family.poll_path(job)
    call_wsgi(application, path, **family.headers(raw_key))  # the token's first use
    handler.answered.clear()
    tries = []
    view_class = resolve(path).func.cls
    original = view_class.fast_poll

    def counting(self, request):
        tries.append(request.path)
        return original(self, request)

    monkeypatch.setattr(view_class, "fast_poll", counting)

    # `?format=` is the full path's to read; the token and snapshot are cached and fresh.
    call_wsgi(application, f"{path}?format=json", **family.headers(raw_key))

    assert handler.answered == [path]
    assert tries == [path]  # once, before Django; the middleware and the view did not retry


@pytest.mark.parametrize("missing", ["snapshot", "stale snapshot", "stale token"])
def test_under_wsgi_a_poll_the_cache_cannot_serve_is_loaded_and_answered_before_django(
    missing, settings, family, job, raw_key, wsgi_application, django_assert_max_num_queries
):
    application, handler = wsgi_application()
    path = family.poll_path(job)
    call_wsgi(application, path, **family.headers(raw_key))  # the token's first use
    full_status, full_headers, full_body = call_wsgi(WSGIHandler(), path, **family.headers(raw_key))
    snapshots = family.family.snapshots
    snapshot = snapshots.lookup(job.pk)[0]
    bound = settings.JOBDESK_MAX_STALENESS_SECONDS
    now = time.time() + (bound + 1 if missing == "stale token" else 0)
    settings.JOBDESK_TOKEN_LAST_USED_INTERVAL_SECONDS = 10 * 24 * 3600  # no use to record
    handler.answered.clear()
    misses = lookups(family, "miss")

    with time_machine.travel(now, tick=False):
        if missing == "snapshot":
            caching.forget(snapshots.snapshot_key(job.pk))
        else:  # past the bound, or (for the token) fresh then
            stored_at = now - bound - 1 if missing == "stale snapshot" else now
            snapshots.store(job.pk, dataclasses.replace(snapshot, stored_at=stored_at))
        with django_assert_max_num_queries(family.first_poll_queries):  # the loads only
            status, headers, body = call_wsgi(application, path, **family.headers(raw_key))

    assert handler.answered == []
    assert (status, body) == (full_status, full_body)
    assert headers["ETag"] == full_headers["ETag"]
    assert lookups(family, "miss") == misses + (missing != "stale token")


@pytest.mark.parametrize("missing", ["snapshot", "stale snapshot"])
def test_a_load_before_django_reads_the_cache_and_resolves_the_url_once(
    missing, settings, family, job, raw_key, wsgi_application, monkeypatch
):
    # The fast path's first try found the token but no snapshot to serve: the load starts
    # from what that try read, and the answer from what the load stored.
    application, handler = wsgi_application()
    path = family.poll_path(job)
    call_wsgi(application, path, **family.headers(raw_key))  # the token's first use
    settings.JOBDESK_TOKEN_LAST_USED_INTERVAL_SECONDS = 10 * 24 * 3600  # no use to record
    full_status, full_headers, full_body = call_wsgi(WSGIHandler(), path, **family.headers(raw_key))
    snapshots = family.family.snapshots
    if missing == "snapshot":
        caching.forget(snapshots.snapshot_key(job.pk))
    else:
        stored_at = time.time() - settings.JOBDESK_MAX_STALENESS_SECONDS - 1
        snapshot = snapshots.lookup(job.pk)[0]
        snapshots.store(job.pk, dataclasses.replace(snapshot, stored_at=stored_at))
    reads, resolved = [], []
    read_many, resolve_view = caching.read_many, middleware.resolved_poll_view
    monkeypatch.setattr(caching, "read_many", lambda keys: reads.append(keys) or read_many(keys))
    monkeypatch.setattr(
        middleware, "resolved_poll_view", lambda r: resolved.append(r) or resolve_view(r)
    )
    handler.answered.clear()

    status, headers, body = call_wsgi(application, path, **family.headers(raw_key))

    assert handler.answered == []
    assert (status, body, headers["ETag"]) == (full_status, full_body, full_headers["ETag"])
    assert len(reads) == 1
    assert len(resolved) == 1
    assert caching.fresh(snapshots.lookup(job.pk)[0].stored_at)  # stored for the next polls


MATCH_ATTRIBUTES = (
    "func",
    "args",
    "kwargs",
    "captured_kwargs",
    "extra_kwargs",
    "url_name",
    "route",
    "app_names",
    "app_name",
    "namespaces",
    "namespace",
    "view_name",
    "_func_path",
)


def test_the_fast_paths_match_of_a_url_is_djangos_and_its_route_is_kept_once(family, tenant):
    jobs = [family.make(tenant) for _ in range(3)]
    paths = [family.poll_path(job) for job in jobs]
    resolver = get_resolver()

    kept = [middleware.resolved(resolver, path) for path in paths]
    matches = [middleware.resolved_poll_view(RequestFactory().get(path))[0] for path in paths]

    for path, match in zip(paths, matches, strict=True):
        expected = resolve(path)
        for name in MATCH_ATTRIBUTES:
            assert getattr(match, name) == getattr(expected, name), (path, name)
    assert len({id(route) for route, *_ in kept}) == 1  # one match for the route's URLs
    route = kept[0][0]
    assert (route.args, route.kwargs, route.tried) == ((), {}, None)  # no URL's own
    assert matches[0] is not matches[1]
    # Each request's match holds its own arguments: changing them changes no other request's.
    matches[0].kwargs.clear()
    matches[0].app_names.append("changed")
    again = middleware.resolved_poll_view(RequestFactory().get(paths[0]))[0]
    assert again.kwargs == resolve(paths[0]).kwargs
    assert again.app_names == resolve(paths[0]).app_names


def test_the_fast_path_resolves_a_polled_url_once_per_urlconf(family, job, poll):
    path = family.poll_path(job)
    resolver = get_resolver()
    poll(job)  # the token's first use, then the snapshot, are cached
    poll(job)
    before = middleware.resolved.cache_info()

    assert poll(job).status_code == HTTPStatus.OK
    assert middleware.resolved.cache_info().hits == before.hits + 1
    assert middleware.resolved(resolver, path) is middleware.resolved(resolver, path)

    clear_url_caches()  # a new URLconf: its URLs resolve afresh
    assert poll(job).status_code == HTTPStatus.OK
    assert middleware.resolved.cache_info().misses == before.misses + 1


def test_under_wsgi_a_load_before_django_gives_back_its_database_connection(
    family, job, raw_key, wsgi_application, monkeypatch
):
    # No request ends around it: a pooled connection would stay with the worker's thread.
    application, handler = wsgi_application()
    path = family.poll_path(job)
    call_wsgi(application, path, **family.headers(raw_key))  # the token's first use
    given_back = []
    monkeypatch.setattr(middleware, "close_old_connections", lambda: given_back.append(True))
    caching.forget(family.family.snapshots.snapshot_key(job.pk))
    handler.answered.clear()

    status, _, _ = call_wsgi(application, path, **family.headers(raw_key))

    assert status == "200 OK"
    assert handler.answered == []
    assert given_back == [True]


def test_under_wsgi_a_poll_with_a_cookie_goes_to_django(family, job, raw_key, wsgi_application):
    application, handler = wsgi_application()
    path = family.poll_path(job)
    call_wsgi(application, path, **family.headers(raw_key))  # the token's first use
    handler.answered.clear()

    call_wsgi(application, path, HTTP_COOKIE="sessionid=x", **family.headers(raw_key))

    assert handler.answered == [path]


def test_the_wsgi_early_answer_refuses_to_start_before_middleware_it_does_not_know(settings):
    settings.MIDDLEWARE = ["django.middleware.gzip.GZipMiddleware", *settings.MIDDLEWARE]

    with pytest.raises(ImproperlyConfigured, match="MIDDLEWARE beginning with"):
        CachedPollApplication(WSGIHandler())


@pytest.mark.parametrize(
    ("setting", "extra", "status"),
    [
        ("SECURE_SSL_REDIRECT", {}, HTTPStatus.MOVED_PERMANENTLY),  # plain HTTP
        ("ALLOWED_HOSTS", {"HTTP_HOST": "elsewhere.example"}, HTTPStatus.BAD_REQUEST),
    ],
)
def test_what_the_stack_refuses_or_redirects_is_not_answered_early(
    settings, job, poll, setting, extra, status
):
    setattr(settings, setting, True if setting == "SECURE_SSL_REDIRECT" else ["testserver"])
    poll(job, secure=True)  # the token's first use is written
    assert poll(job, secure=True).status_code == HTTPStatus.OK  # now both are cached

    assert poll(job, **extra).status_code == status


def test_a_middleware_the_early_answer_does_not_know_stops_the_start(settings):
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE,
        "django.middleware.gzip.GZipMiddleware",
    ]

    with pytest.raises(ImproperlyConfigured, match="GZipMiddleware"):
        PollFastPathMiddleware(lambda request: None)


@pytest.mark.parametrize(
    "family_name", [each.name for each in drivers() if not each.negotiates_accept]
)
def test_a_family_that_ignores_accept_answers_the_same_body_whatever_it_says(
    family_name, tenant, api_client, raw_key
):
    family = driver(family_name)
    job = family.make(tenant)
    plain = api_client.get(family.poll_path(job), **family.headers(raw_key))
    indented = api_client.get(
        family.poll_path(job), HTTP_ACCEPT="application/json; indent=2", **family.headers(raw_key)
    )

    assert indented.content == plain.content
    assert indented["ETag"] == plain["ETag"]


@pytest.mark.parametrize("family_name", [each.name for each in drivers() if each.negotiates_accept])
def test_a_body_with_parameters_in_accept_is_left_to_the_full_path(
    family_name, tenant, api_client, raw_key
):
    family = driver(family_name)
    job = family.make(tenant)
    plain = api_client.get(family.poll_path(job), **family.headers(raw_key))
    indented = api_client.get(
        family.poll_path(job), HTTP_ACCEPT="application/json; indent=2", **family.headers(raw_key)
    )

    assert indented.status_code == HTTPStatus.OK
    assert indented.content != plain.content
    assert indented.json() == plain.json()
    assert indented["ETag"] != plain["ETag"]


def test_the_fast_path_really_answers_repeated_polls(family, job, poll, monkeypatch):
    poll(job)
    calls = []
    original = CachedPollMixin.poll

    def counting(self, request):
        calls.append(request.path)
        return original(self, request)

    monkeypatch.setattr(CachedPollMixin, "poll", counting)

    assert poll(job).status_code == HTTPStatus.OK
    assert calls == []


def test_polls_still_work_when_the_cache_is_down(family, job, poll, monkeypatch):
    def broken():
        raise ConnectionError("cache unreachable")

    expected = poll(job).content
    monkeypatch.setattr(caching, "get_cache", broken)

    assert poll(job).content == expected
    assert poll(job).content == expected


def test_snapshots_switched_off_read_the_database_every_time(
    settings, job, poll, django_assert_max_num_queries, family
):
    settings.JOBDESK_SNAPSHOT_SECONDS = 0
    poll(job)

    with django_assert_max_num_queries(family.first_poll_queries - 1) as captured:
        poll(job)

    assert len(captured) >= 1
    assert not caches["default"].get(family.family.snapshots.snapshot_key(job.pk))


def test_a_session_poll_goes_through_the_full_path(family, job, api_client, operator):
    api_client.force_login(operator)

    first = api_client.get(family.poll_path(job))
    again = api_client.get(family.poll_path(job))

    assert first.status_code == again.status_code == HTTPStatus.OK
    assert first.content == again.content


def test_an_empty_accept_header_is_answered_as_the_full_path_answers_it(family, job, poll):
    poll(job)  # the snapshot and the token are cached

    cached = poll(job, HTTP_ACCEPT="")
    clear_cache()
    uncached = poll(job, HTTP_ACCEPT="")

    assert cached.status_code == uncached.status_code


def test_a_deleted_creator_shows_as_a_null_user_id_on_the_next_poll(
    tenant, make_member, api_client, raw_key
):
    creator = make_member(tenant, "operations")
    job = progresses.progress_create(
        tenant=tenant, tag="t", context_type="Course", context_id=1, user=creator
    )
    path, headers = f"/api/v1/progress/{job.pk}", {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"}
    assert api_client.get(path, **headers).json()["user_id"] == creator.pk

    creator.delete()

    assert api_client.get(path, **headers).json()["user_id"] is None


@pytest.fixture
def script_prefix():
    """Set the URL prefix as a WSGI server mounted under it does per request; reset after."""
    yield set_script_prefix
    set_script_prefix("/")


def test_the_progress_url_keeps_the_requests_script_prefix_after_a_write_elsewhere(
    tenant, api_client, raw_key, django_capture_on_commit_callbacks, script_prefix
):
    job = driver("progress").make(tenant)
    path, headers = f"/api/v1/progress/{job.pk}", {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"}
    script_prefix("/jd/")
    assert api_client.get(path, **headers).json()["url"].endswith(f"/jd/api/v1/progress/{job.pk}")

    script_prefix("/")  # a worker process mounted nowhere replaces the snapshot
    with django_capture_on_commit_callbacks(execute=True):
        progresses.progress_start(job)

    script_prefix("/jd/")
    body = api_client.get(path, **headers).json()
    assert body["workflow_state"] == "running"
    assert body["url"] == f"http://testserver/jd/api/v1/progress/{job.pk}"


# When a version bump is lost (the cache failed during a write) -------------------------------


def lose_bumps(monkeypatch) -> None:
    """Make every version bump fail silently, as a cache outage during a write would."""
    monkeypatch.setattr(caching, "bump", lambda key: None)


def test_a_snapshot_left_stale_by_a_lost_bump_is_healed_when_it_expires(
    family, job, poll, monkeypatch
):
    before = poll(job).content
    lose_bumps(monkeypatch)
    family.finish(job)
    assert poll(job).content == before  # the price of the lost bump, until expiry

    caches["default"].delete(family.family.snapshots.snapshot_key(job.pk))  # it expires
    healed = poll(job)
    again = poll(job)

    monkeypatch.undo()
    assert healed.content != before
    assert again.content == healed.content == fresh_poll(poll, job).content


@pytest.fixture
def lasting_snapshots(settings):
    """Snapshots that live an hour, and a staleness bound well within that (as in production),
    both long enough for a slow test."""
    settings.JOBDESK_SNAPSHOT_SECONDS = 3600
    settings.JOBDESK_MAX_STALENESS_SECONDS = 60


def past_the_bound(family: FamilyDriver, job, settings, *, loaded_ago: float = 0) -> None:
    """Make `job`'s cached snapshot older than the staleness bound, as if stored back then
    (and loaded `loaded_ago` seconds before that)."""
    snapshots = family.family.snapshots
    snapshot = snapshots.lookup(job.pk)[0]
    assert snapshot is not None
    stored_at = time.time() - settings.JOBDESK_MAX_STALENESS_SECONDS - 1
    loaded_at = time.time() - loaded_ago
    old = dataclasses.replace(snapshot, stored_at=stored_at, loaded_at=min(stored_at, loaded_at))
    snapshots.store(job.pk, old)


def test_a_snapshot_past_the_bound_of_an_unchanged_job_costs_one_query_and_no_description(
    lasting_snapshots, family, job, poll, settings, monkeypatch, django_assert_num_queries
):
    family.with_child_rows(job)
    before = fresh_poll(poll, job)
    past_the_bound(family, job, settings)

    def describe(job):
        raise AssertionError("the job was described again")

    monkeypatch.setattr(family.family, "describe", describe)
    with django_assert_num_queries(1):  # its revision
        again = poll(job)
    with django_assert_num_queries(0):
        then = poll(job)

    assert again.content == then.content == before.content
    assert again["ETag"] == before["ETag"]
    assert caching.fresh(family.family.snapshots.lookup(job.pk)[0].stored_at)


def past_the_bound_and_read(family: FamilyDriver, jobs, settings) -> None:
    """Make the snapshots of `jobs` older than the staleness bound, then read each of them in
    this process (as a stream or a poll served from the cache would have, while they were
    fresh)."""
    for job in jobs:
        past_the_bound(family, job, settings)
        assert family.family.snapshots.lookup(job.pk)[0] is not None


def test_a_snapshot_past_the_bound_is_checked_with_the_others_read_lately_in_one_query(
    lasting_snapshots, family, tenant, poll, settings, django_assert_num_queries
):
    jobs = [family.make(tenant) for _ in range(3)]
    before = [poll(job).content for job in jobs]
    past_the_bound_and_read(family, jobs, settings)

    with django_assert_num_queries(1):  # the three jobs' revisions
        first = poll(jobs[0])
    with django_assert_num_queries(0):
        others = [poll(job) for job in jobs[1:]]

    assert [first.content, *(each.content for each in others)] == before
    snapshots = family.family.snapshots
    assert all(caching.fresh(snapshots.lookup(job.pk)[0].stored_at) for job in jobs)


def test_a_snapshot_stored_again_since_it_was_read_here_is_not_checked_again(
    lasting_snapshots, family, tenant, poll, settings
):
    jobs = [family.make(tenant) for _ in range(2)]
    for job in jobs:
        poll(job)
    past_the_bound_and_read(family, jobs, settings)
    snapshots = family.family.snapshots
    elsewhere = time.time()  # another process checks jobs[1] and stores it again, fresh
    snapshots.store(
        jobs[1].pk, dataclasses.replace(snapshots.lookup(jobs[1].pk)[0], stored_at=elsewhere)
    )

    poll(jobs[0])

    assert snapshots.lookup(jobs[1].pk)[0].stored_at == elsewhere


def test_at_most_a_batch_of_snapshots_is_checked_in_one_query(
    lasting_snapshots, family, tenant, poll, settings, monkeypatch
):
    monkeypatch.setattr(type(family.family.snapshots), "CHECKED_AT_ONCE", 2)
    jobs = [family.make(tenant) for _ in range(4)]
    for job in jobs:
        poll(job)
    past_the_bound_and_read(family, jobs, settings)

    poll(jobs[0])

    snapshots = family.family.snapshots
    fresh = [caching.fresh(snapshots.lookup(job.pk)[0].stored_at) for job in jobs]
    assert fresh[0] is True
    assert sorted(fresh[1:]) == [False, False, True]


def test_a_job_whose_bump_was_lost_is_not_made_fresh_by_anothers_check(
    lasting_snapshots, family, tenant, poll, settings, monkeypatch
):
    watched, changed = family.make(tenant), family.make(tenant)
    before = poll(changed).content
    poll(watched)
    lose_bumps(monkeypatch)
    family.finish(changed)
    past_the_bound_and_read(family, [watched, changed], settings)

    poll(watched)
    healed = poll(changed)

    monkeypatch.undo()
    assert healed.content != before
    assert healed.content == fresh_poll(poll, changed).content


def test_a_job_changed_while_others_are_checked_is_not_made_fresh_with_its_old_body(
    lasting_snapshots, family, tenant, poll, settings, monkeypatch
):
    # The change commits after the checked jobs' versions and revisions are read, before
    # their snapshots are stored again: those are stamped with the versions read before.
    watched, changed = family.make(tenant), family.make(tenant)
    before = poll(changed).content
    poll(watched)
    past_the_bound_and_read(family, [watched, changed], settings)
    snapshots = family.family.snapshots
    revisions = snapshots.revisions

    def change_after(pks):
        monkeypatch.setattr(snapshots, "revisions", revisions)
        found = revisions(pks)
        family.finish(changed)
        return found

    monkeypatch.setattr(snapshots, "revisions", change_after)

    poll(watched)
    after = poll(changed)

    assert after.content != before
    assert after.content == fresh_poll(poll, changed).content


def test_a_write_whose_bump_was_lost_shows_once_its_snapshot_is_past_the_bound(
    lasting_snapshots, family, job, poll, settings, monkeypatch
):
    before = poll(job).content
    lose_bumps(monkeypatch)
    family.finish(job)
    assert poll(job).content == before  # the price of the lost bump, within the bound

    past_the_bound(family, job, settings)
    healed = poll(job)
    again = poll(job)

    monkeypatch.undo()
    assert healed.content != before
    assert again.content == healed.content == fresh_poll(poll, job).content


def set_another_status_spelling(job, tenant) -> None:
    instance = Instance.objects.across_tenants().get(pk=job.instance_id)
    spelling = next(each for each in Instance.StatusSpelling if each != instance.status_spelling)
    instance_set_status_spelling(instance=instance, status_spelling=spelling)


def rename_its_instance(job, tenant) -> None:
    Instance.objects.across_tenants().filter(pk=job.instance_id).update(instance_id="renamed")


def move_to_another_project(job, tenant) -> None:
    tenant.project_id = new_project_id()
    tenant.save()


def delete_its_user(job, tenant) -> None:
    job.user.delete()


@pytest.mark.parametrize(
    ("family", "change"),
    [
        (driver("asset_jobs"), set_another_status_spelling),
        (driver("asset_jobs"), rename_its_instance),
        (driver("lro"), move_to_another_project),
        (driver("progress"), delete_its_user),
    ],
    indirect=["family"],
    ids=["asset_jobs-status-spelling", "asset_jobs-instance-id", "lro-project", "progress-user"],
)
def test_a_change_outside_the_jobs_row_whose_bump_was_lost_shows_once_past_the_bound(
    lasting_snapshots, family, change, tenant, make_member, poll, settings, monkeypatch
):
    job = family.make(tenant, user=make_member(tenant))
    path = family.poll_path(job)  # before the change, which may move the job's URL
    before = poll(job, path=path).content
    lose_bumps(monkeypatch)
    change(job, tenant)
    assert poll(job, path=path).content == before  # the price of the lost bump, within the bound

    past_the_bound(family, job, settings)
    healed = poll(job, path=path)

    monkeypatch.undo()
    assert healed.content != before
    assert comparable(healed) == comparable(fresh_poll(poll, job, path=path))


def comparable(response) -> tuple[int, dict]:
    """A response's status and JSON body, less the request id that ROMA's errors carry."""
    body = response.json()
    body.pop("request_id", None)
    return response.status_code, body


def test_a_job_deleted_with_its_bump_lost_is_gone_once_past_the_bound(
    lasting_snapshots, family, job, poll, settings, monkeypatch
):
    assert poll(job).status_code == HTTPStatus.OK
    lose_bumps(monkeypatch)
    family.family.jobs().filter(pk=job.pk).delete()

    past_the_bound(family, job, settings)
    gone = poll(job)

    monkeypatch.undo()
    assert gone.status_code == fresh_poll(poll, job).status_code == HTTPStatus.NOT_FOUND


def test_a_change_made_around_the_services_shows_once_its_snapshot_outlives_a_full_load(
    lasting_snapshots, family, job, poll, settings
):
    # SQL that changes what the body shows, but neither `updated_at` nor the job's version.
    before = poll(job).content
    changes = {family.family.state_field: family.failed}
    if family.family.ended_field:
        changes[family.family.ended_field] = timezone.now()
    family.family.jobs().filter(pk=job.pk).update(**changes)

    past_the_bound(family, job, settings)
    assert poll(job).content == before  # checked: the same revision

    past_the_bound(family, job, settings, loaded_ago=settings.JOBDESK_SNAPSHOT_SECONDS + 1)
    loaded = poll(job)

    assert loaded.content != before
    assert loaded.content == fresh_poll(poll, job).content


def test_a_cached_token_left_stale_by_a_lost_bump_is_healed_when_it_expires(
    family, job, poll, raw_key, operator, tenant, monkeypatch
):
    assert poll(job).status_code == HTTPStatus.OK
    assert poll(job).status_code == HTTPStatus.OK  # the fast path, from the cached token
    lose_bumps(monkeypatch)
    membership_grant(user=operator, tenant=tenant, role_name="no-rights")

    caches["default"].delete(token_cache_key(digest_key(raw_key)))  # the entry expires
    first = poll(job)
    second = poll(job)

    assert first.status_code == second.status_code == HTTPStatus.FORBIDDEN


@pytest.fixture
def two_tokens_used_lately(
    lasting_snapshots, settings, job, poll, raw_key, operator, tenant, make_token
):
    """Return the raw keys of two tokens the fast path has served a poll of `job` with."""
    settings.JOBDESK_MAX_STALENESS_SECONDS = 20  # past it, within `RECENT_TOKENS`' window
    settings.JOBDESK_TOKEN_LAST_USED_INTERVAL_SECONDS = 10 * 24 * 3600  # no use to record
    other_key = make_token(operator, tenant, name="another")
    for key in (raw_key, other_key, raw_key, other_key):  # the second time from the cache
        assert poll(job, key=key).status_code == HTTPStatus.OK
    return raw_key, other_key


def test_a_token_past_the_bound_is_loaded_with_the_others_used_lately_in_one_query(
    two_tokens_used_lately, job, poll, django_assert_num_queries
):
    first_key, other_key = two_tokens_used_lately
    with time_machine.travel(time.time() + 21, tick=False):
        with django_assert_num_queries(2):  # both tokens, then the job's revision
            first = poll(job, key=first_key)
        with django_assert_num_queries(0):
            other = poll(job, key=other_key)

    assert first.status_code == other.status_code == HTTPStatus.OK
    assert first.content == other.content


def test_a_token_revoked_with_its_bump_lost_is_not_cached_again_with_another(
    two_tokens_used_lately, job, poll
):
    first_key, other_key = two_tokens_used_lately
    ApiToken.objects.filter(digest=digest_key(other_key)).update(revoked_at=timezone.now())
    with time_machine.travel(time.time() + 21, tick=False):
        assert poll(job, key=first_key).status_code == HTTPStatus.OK
        refused = poll(job, key=other_key)

    assert refused.status_code == HTTPStatus.UNAUTHORIZED


def test_at_most_a_batch_of_tokens_is_loaded_at_once(
    two_tokens_used_lately, job, poll, operator, tenant, make_token, monkeypatch
):
    first_key, *others = two_tokens_used_lately
    others += [make_token(operator, tenant, name=f"more {n}") for n in range(2)]
    for key in others * 2:  # again, as issuing tokens moved the version; then from the cache
        assert poll(job, key=key).status_code == HTTPStatus.OK
    monkeypatch.setattr(authentication, "TOKENS_LOADED_AT_ONCE", 2)
    with time_machine.travel(time.time() + 21, tick=False):
        poll(job, key=first_key)
        found = caching.read_many([token_cache_key(digest_key(key)) for key in others])
        fresh = [caching.fresh(entry.stored_at) for entry in found.values()]

    assert sorted(fresh) == [False, False, True]
