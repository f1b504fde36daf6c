"""Server-sent events: `GET /api/events?job=<family>:<id>` streams jobs as they change.

Each `job` parameter (repeatable, at most `MAX_JOBS`) names a job as `<family>:<id>`, with
the id its family's read takes (`progress:7`, `async_status:7`, `asset_jobs:<32 hex>`). The
request is checked exactly as each family's read checks it, with that family's view: the
same credentials, its READ permission (403), its id rules (400 or 404), and the job looked
up inside the tenants where the principal holds READ (another tenant's job answers the
family's 404). Errors are answered in the envelope of the family of the job at fault (of the
first job for a missing credential), or as `{"errors": [{"message": ...}]}` when no family
can be named.

The stream sends, for each job, `event: <family>` with the family's own wire body as `data`
(the bytes its read returns) whenever that body changes; `id:` records the body each job was
last sent with, so a client reconnecting with `Last-Event-ID` gets only what it missed.
Comments (`: keep-alive`) are sent every `JOBDESK_EVENTS_HEARTBEAT_SECONDS`. Once every job
has finished and its last body was sent, `event: end` closes the stream; reconnecting after
that answers `204`, which tells an `EventSource` to stop. A stream also ends after
`JOBDESK_EVENTS_MAX_SECONDS` (the client resumes and is checked again), and as soon as the
principal may no longer read one of its jobs.

Under WSGI (`runserver`, gunicorn) a stream holds one worker thread; under ASGI through
`jobs.asgi` the view hands the prepared stream to the ASGI layer, which runs it in the event
loop (`run_async`) without holding a thread.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from http import HTTPStatus
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.utils.module_loading import import_string
from rest_framework import exceptions
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs import watch
from jobs.api import PrivateResponsesMixin
from jobs.errors import respond
from jobs.family import JobFamily
from jobs.middleware import HANDOFF_SCOPE_KEY
from jobs.polling import CachedPollMixin, rendered_bodies
from jobs.registry import families
from jobs.snapshots import Snapshot
from tenancy import caching
from tenancy.access import Principal, principal_for
from tenancy.authentication import (
    AUTH_VERSION_KEY,
    FastLookup,
    PresentedToken,
    refresh_presented_token,
    resolve_token,
)

MAX_JOBS = 50
# The part of a body's ETag that `id:` keeps per job (64 bits of a BLAKE2b digest).
TAG_LENGTH = 16
TAG_PATTERN = re.compile(rf"[0-9a-f]{{{TAG_LENGTH}}}|-")
STREAM_HEADERS = {
    "Cache-Control": "private, no-cache, no-store",
    # nginx buffers proxied responses unless told not to.
    "X-Accel-Buffering": "no",
}
CONTENT_TYPE = "text/event-stream; charset=utf-8"
HEARTBEAT = b": keep-alive\n\n"
END = b"event: end\ndata: {}\n\n"


class EventsError(exceptions.ValidationError):
    """A request that names no job to watch, or names it wrongly."""


def events_envelope(exc: exceptions.APIException, context: dict) -> tuple[int, dict, dict]:
    detail = exc.detail
    messages = detail if isinstance(detail, list) else [detail]
    return exc.status_code, {"errors": [{"message": str(m)} for m in messages]}, {}


def events_exception_handler(exc: Exception, context: dict) -> Response | None:
    """jobdesk's own envelope, for errors that belong to no family."""
    return respond(exc, context, events_envelope, server_errors=True)


@cache
def read_view_class(family: JobFamily) -> type[CachedPollMixin] | None:
    return import_string(family.read_view) if family.read_view else None


@dataclass
class WatchedJob:
    """One job of a stream: its family's read view, and the body the client has."""

    ref: str
    family: JobFamily
    view: CachedPollMixin
    raw_id: str
    pk: Any = None
    tenant_id: int | None = None
    tag: str = "-"
    ended: bool = False
    snapshot: Snapshot | None = field(default=None, repr=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.family.name, str(self.pk))


def parse_refs(query: QueryDict) -> list[WatchedJob]:
    """Return the jobs named by `job` parameters (no access checked yet); raise EventsError."""
    refs = list(dict.fromkeys(query.getlist("job")))
    if not refs:
        raise EventsError("Name at least one job to watch: ?job=<family>:<id>.")
    if len(refs) > MAX_JOBS:
        raise EventsError(f"Watch at most {MAX_JOBS} jobs in one stream.")
    return [parse_ref(ref) for ref in refs]


def parse_ref(ref: str) -> WatchedJob:
    name, colon, raw_id = ref.partition(":")
    if not colon or name not in families:
        known = ", ".join(families.names())
        raise EventsError(f"Name a job as <family>:<id>, with a family among {known}.")
    family = families[name]
    view_class = read_view_class(family)
    if view_class is None:
        raise EventsError(f"Jobs of the {name} family cannot be watched here.")
    return WatchedJob(ref=ref, family=family, view=view_class(), raw_id=raw_id)


def load_snapshot(job: WatchedJob, principal: Principal) -> Snapshot | None:
    """Return the job's current snapshot if `principal` may read it, else None.

    The rules are the family read's: its snapshot check (the tenant scope of its READ) for
    a cached snapshot, its scoped query otherwise.
    """
    snapshots = job.family.snapshots
    snapshot, found = snapshots.lookup(job.pk)
    if snapshot is not None and CachedPollMixin.poll_matches(job.view, snapshot, principal):
        return snapshot
    snapshots.version_before_load(job.pk, found)
    row = (
        job.family.wire_jobs()
        .visible_to(principal, job.view.required_permission)
        .filter(pk=job.pk)
        .first()
    )
    if row is None:
        return None
    snapshot = snapshots.capture(row, found)
    snapshots.store(job.pk, snapshot)
    return snapshot


def tag_of(etag: str) -> str:
    return etag.strip('"')[:TAG_LENGTH]


def frame(event: str, event_id: str, data: bytes) -> bytes:
    return b"event: %s\nid: %s\ndata: %s\n\n" % (event.encode(), event_id.encode(), data)


class EventStream:
    """The jobs of one stream, what the client has of each, and the frames it still needs."""

    def __init__(
        self,
        request: Request | HttpRequest,
        jobs: list[WatchedJob],
        principal: Principal,
        *,
        auth_version: int | None = None,
    ) -> None:
        self.request = request
        self.jobs = jobs
        self.principal = principal
        self.by_key = {job.key: job for job in jobs}
        if auth_version is None:
            auth_version = caching.read_many([AUTH_VERSION_KEY]).get(AUTH_VERSION_KEY)
        self.auth_version = auth_version
        # Every job's snapshot was read just now (`fast_open`): the first frames need no read.
        self.loaded = False
        # Subscribed already, before the jobs were read (`fast_open` under ASGI).
        self.subscription: watch.Subscription | None = None
        self.started = time.monotonic()
        self.heartbeat_seconds = float(settings.JOBDESK_EVENTS_HEARTBEAT_SECONDS)
        self.max_seconds = float(settings.JOBDESK_EVENTS_MAX_SECONDS)

    @property
    def keys(self) -> list[tuple[str, str]]:
        return list(self.by_key)

    @property
    def done(self) -> bool:
        return all(job.ended for job in self.jobs)

    def remaining(self) -> float:
        return self.max_seconds - (time.monotonic() - self.started)

    def event_id(self) -> str:
        return ",".join(job.tag for job in self.jobs)

    def resume(self, last_event_id: str | None) -> None:
        """Take the client's `Last-Event-ID`: the body it has of each job."""
        tags = (last_event_id or "").split(",")
        if len(tags) == len(self.jobs) and all(TAG_PATTERN.fullmatch(tag) for tag in tags):
            for job, tag in zip(self.jobs, tags, strict=True):
                job.tag = tag

    def up_to_date(self) -> bool:
        """True if every job has finished and the client has its last body."""
        return all(job.ended and job.tag == self.tag_now(job) for job in self.jobs)

    def tag_now(self, job: WatchedJob) -> str:
        return tag_of(self.render(job, job.snapshot)[1]) if job.snapshot else "-"

    # -- Reading and rendering a job, as its family's read does --

    def load(self, job: WatchedJob) -> Snapshot | None:
        return load_snapshot(job, self.principal)

    def render(self, job: WatchedJob, snapshot: Snapshot) -> tuple[bytes, str]:
        """Return the family's read body of `snapshot` for this request, and its ETag."""
        view, request = job.view, self.request
        renderer = view.get_renderers()[0]
        key = (type(view), job.pk, renderer.media_type, view.poll_variant(request))
        return rendered_bodies.get(
            key,
            snapshot,
            lambda: renderer.render(view.poll_data(snapshot, request), renderer.media_type, {}),
        )

    def refresh(self, job: WatchedJob) -> bytes:
        """Read the job again; return its frame if its body changed (b"" otherwise)."""
        if job.ended and job.snapshot is None:
            return b""
        return self.show(job, self.load(job))

    def show(self, job: WatchedJob, snapshot: Snapshot | None) -> bytes:
        """Take `snapshot` as the job's current one; return its frame if its body changed."""
        if snapshot is None:  # deleted by retention, or no longer readable
            job.ended, job.snapshot = True, None
            return b"event: gone\ndata: %s\n\n" % json.dumps({"job": job.ref}).encode()
        job.snapshot = snapshot
        job.ended = snapshot.retry_after is None  # a finished job has no Retry-After
        body, etag = self.render(job, snapshot)
        if tag_of(etag) == job.tag:
            return b""
        job.tag = tag_of(etag)
        return frame(job.family.name, self.event_id(), body)

    def catch_up(self) -> bytes:
        """Return the frames of every job whose body the client does not have yet."""
        if self.loaded:
            self.loaded = False
            return b"".join(self.show(job, job.snapshot) for job in self.jobs) + self.ending()
        return b"".join(self.refresh(job) for job in self.jobs) + self.ending()

    def on_change(self, change: watch.JobChange) -> bytes:
        job = self.by_key.get(change.key)
        if job is None or change.tenant_id not in (None, job.tenant_id):
            return b""  # never another job's (or another tenant's) change
        return self.refresh(job) + self.ending()

    async def aon_change(self, change: watch.JobChange) -> bytes:
        """`on_change` in the event loop: the job is read once for every stream of the process.

        The shared read is unscoped; this stream shows it only if its principal may read it
        (the check of a cached snapshot), and otherwise reads the job itself, scoped.
        """
        job = self.by_key.get(change.key)
        if job is None or change.tenant_id not in (None, job.tenant_id):
            return b""  # never another job's (or another tenant's) change
        if job.ended and job.snapshot is None:
            return b""
        snapshot = await shared_reads.read(job.family, job.pk, change)
        if snapshot is not None and self.readable(job, snapshot):
            return self.show(job, snapshot) + self.ending()
        return await sync_to_async_unbound(self.refresh, job) + self.ending()

    def readable(self, job: WatchedJob, snapshot: Snapshot) -> bool:
        """Return True if the principal may read `snapshot` (the read of a cached snapshot)."""
        return CachedPollMixin.poll_matches(job.view, snapshot, self.principal)

    def on_quiet(self) -> bytes:
        """Return a heartbeat, or raise StreamOver if the stream must end."""
        if self.remaining() <= 0 or not self.permitted():
            raise StreamOver
        return HEARTBEAT

    async def aon_quiet(self) -> bytes:
        """`on_quiet` in the event loop: the access version is read once for every stream."""
        if self.remaining() <= 0:
            raise StreamOver
        version = await auth_versions.read()
        if version is None or version != self.auth_version:
            return await sync_to_async_unbound(self.on_quiet)
        return HEARTBEAT

    def ending(self) -> bytes:
        return END if self.done else b""

    def permitted(self) -> bool:
        """Return True if the principal may still read every job (checked when access moved)."""
        version = caching.read_many([AUTH_VERSION_KEY]).get(AUTH_VERSION_KEY)
        if version is not None and version == self.auth_version:
            return True
        self.auth_version = version
        try:
            principal = self.fresh_principal()
        except exceptions.AuthenticationFailed:
            return False
        return all(
            job.tenant_id in principal.tenant_scope(job.view.required_permission)
            for job in self.jobs
        )

    def fresh_principal(self) -> Principal:
        token = self.principal.token
        if token is not None:
            return Principal(token.user, resolve_token_again(self.request))
        user = (
            type(self.principal.user)
            ._default_manager.filter(pk=self.principal.user.pk, is_active=True)
            .first()
        )
        if user is None:
            raise exceptions.AuthenticationFailed
        return Principal(user)

    # -- Running it --

    def frames(self) -> Iterator[bytes]:
        """The stream, for a WSGI server: one thread blocks on it."""
        with watch.subscribe(self.keys) as subscription:
            yield self.catch_up()
            while not self.done:
                change = subscription.get(min(self.heartbeat_seconds, max(self.remaining(), 0)))
                try:
                    chunk = self.on_quiet() if change is None else self.on_change(change)
                except StreamOver:
                    return
                if chunk:
                    yield chunk

    async def aframes(self) -> AsyncIterator[bytes]:
        """The stream, for an ASGI server: no thread is held between changes."""
        subscription = self.subscription or await watch.asubscribe(self.keys)
        in_thread = sync_to_async_unbound
        try:
            yield self.catch_up() if self.loaded else await in_thread(self.catch_up)
            while not self.done:
                change = await subscription.aget(
                    min(self.heartbeat_seconds, max(self.remaining(), 0))
                )
                try:
                    if change is None:
                        chunk = await self.aon_quiet()
                    else:
                        chunk = await self.aon_change(change)
                except StreamOver:
                    return
                if chunk:
                    yield chunk
        finally:
            subscription.close()

    def close(self) -> None:
        """Stop hearing changes, if the stream subscribed before it ran (`aframes` closes its
        own subscription; this one is the stream's until then)."""
        if self.subscription is not None:
            self.subscription.close()

    def start_headers(self) -> list[tuple[bytes, bytes]]:
        headers = {"Content-Type": CONTENT_TYPE, **STREAM_HEADERS}
        return [(name.lower().encode(), value.encode()) for name, value in headers.items()]


class StreamOver(Exception):
    """The stream has run its time, or its principal lost access."""


def sync_to_async_unbound(function: Callable, *args: Any) -> Any:
    """Run `function` in the loop's thread pool, then give back a connection it should not keep.

    No request ends in those threads to close their database connections: a pooled one
    (under ASGI) goes back to the pool, a persistent one past its age is closed.
    """

    def run() -> Any:
        try:
            return function(*args)
        finally:
            close_old_connections()

    return sync_to_async(run, thread_sensitive=False)()


class SharedReads:
    """Reads of a changed job's snapshot, one for every stream of this process that heard it.

    Every stream watching a job hears each of its changes; the first to ask reads the job (its
    snapshot: one cache read, or one query when the cache has none), and the others await the
    same read. A read is kept for `KEEP_SECONDS` after it ends, for streams slower to ask.
    """

    KEEP_SECONDS = 1.0

    def __init__(self) -> None:
        self.reads: dict[watch.JobChange, asyncio.Future] = {}

    async def read(self, family: JobFamily, pk: Any, change: watch.JobChange) -> Snapshot | None:
        future = self.reads.get(change)
        if future is None:
            future = asyncio.ensure_future(sync_to_async_unbound(current_snapshot, family, pk))
            self.reads[change] = future
            loop = asyncio.get_running_loop()
            future.add_done_callback(
                lambda _: loop.call_later(self.KEEP_SECONDS, self.reads.pop, change, None)
            )
        return await asyncio.shield(future)


def current_snapshot(family: JobFamily, pk: Any) -> Snapshot | None:
    """Return job `pk`'s current snapshot (`JobSnapshots.current`: unscoped, None if gone).

    Whoever shows it checks first that its principal may read it.
    """
    return family.snapshots.current(pk)


class AuthVersions:
    """The access version (`AUTH_VERSION_KEY`), read at most once a second for every stream.

    A stream's heartbeat checks whether access changed since it opened; with thousands of
    streams, each reading it for itself would cost a cache read per heartbeat.
    """

    KEEP_SECONDS = 1.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.latest: tuple[float, asyncio.Future] | None = None

    async def read(self) -> int | None:
        now = self.clock()
        if self.latest is None or now - self.latest[0] > self.KEEP_SECONDS:
            future = asyncio.ensure_future(sync_to_async_unbound(read_auth_version))
            self.latest = (now, future)
        return await asyncio.shield(self.latest[1])


def read_auth_version() -> int | None:
    return caching.read_many([AUTH_VERSION_KEY]).get(AUTH_VERSION_KEY)


shared_reads = SharedReads()
auth_versions = AuthVersions()


def resolve_token_again(request: Request | HttpRequest):
    """Return the request's token as it stands now (raising if it is no longer usable)."""
    authenticators = getattr(request, "authenticators", None)
    if authenticators is None:  # a stream opened without the view (`fast_open`)
        authenticators = EventStreamView().get_authenticators()
    for authenticator in authenticators:
        raw_key = getattr(authenticator, "get_raw_key", lambda _: None)(request)
        if raw_key is not None:
            return resolve_token(raw_key)
    raise exceptions.AuthenticationFailed


async def run_async(stream: EventStream, send: Callable, disconnected: asyncio.Event) -> None:
    """Send `stream` as an ASGI response until it ends or the client goes away."""
    await send({"type": "http.response.start", "status": 200, "headers": stream.start_headers()})
    frames = stream.aframes()
    gone = asyncio.ensure_future(disconnected.wait())
    try:
        while True:
            step = asyncio.ensure_future(anext(frames))
            await asyncio.wait({step, gone}, return_when=asyncio.FIRST_COMPLETED)
            if not step.done():
                step.cancel()  # and let it finish before the generator is closed
                await asyncio.wait({step})
                return
            try:
                chunk = step.result()
            except StopAsyncIteration:
                break
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        gone.cancel()
        await frames.aclose()


def bind_view(view: CachedPollMixin, request: Request | HttpRequest) -> None:
    """Set up a family's read view as DRF would for this request."""
    view.request, view.args, view.kwargs = request, (), {}
    view.format_kwarg, view.headers = None, {}
    view.action, view.action_map = "retrieve", {"get": "retrieve"}


def fast_open(
    request: HttpRequest, loop: asyncio.AbstractEventLoop | None = None
) -> EventStream | None:
    """Return the stream `request` asks for, opened without the view; else None, and
    `EventStreamView` decides.

    One cache round trip reads the token and every job's snapshot. A token the cache cannot
    serve now (past the staleness bound) is loaded again, and a job whose snapshot is missing
    or stale costs its load (unscoped: its tenant is checked next). It checks what the view
    checks, as a family's cached poll does (`fast_poll`): the token, each family's READ
    (`poll_permitted`), each id (`watch_key`) and the tenant scope of each job. Anything it
    does not serve (no token, an unusable one, a refusal, junk, a job not found, a resumed
    stream already up to date) is the view's to answer, with the family's errors.

    With `loop` (the ASGI layer's), the stream subscribes to its jobs' changes before it reads
    them, so no change between the read and the stream's start goes unheard.
    """
    try:
        jobs = parse_refs(request.GET)
    except EventsError:
        return None
    view = EventStreamView()
    lookup = CachedPollMixin.presented_credential(view, request)
    if lookup is None:
        return None
    keys = [*lookup.keys, AUTH_VERSION_KEY]
    for job in jobs:
        bind_view(job.view, request)
        try:
            job.pk = job.view.watch_key(job.raw_id)
        except exceptions.APIException:
            return None
        keys += job.family.snapshots.keys(job.pk)
    subscription = stream = None
    if loop is not None:
        subscription = watch.subscribe_for(loop, [(job.family, job.pk) for job in jobs])
    try:
        stream = open_from_cache(request, view, lookup, jobs, keys)
    finally:
        if stream is None and subscription is not None:
            subscription.close()
    if stream is not None:
        stream.subscription = subscription
    return stream


def open_from_cache(
    request: HttpRequest,
    view: APIView,
    lookup: FastLookup,
    jobs: list[WatchedJob],
    keys: list[str],
) -> EventStream | None:
    """`fast_open`'s reads and checks, once the jobs are named: the stream, or None."""
    found = caching.read_many(list(dict.fromkeys(keys)))
    token = lookup.resolve(found)
    refreshed = (
        None if token is not None else refresh_presented_token(request, view.get_authenticators())
    )
    if refreshed is PresentedToken.RELOADED:
        found.update(caching.read_many(lookup.keys))
        token = lookup.resolve(found)
    if token is None:
        return None
    principal = Principal(token.user, token)
    for job in jobs:
        if not job.view.poll_permitted(principal):
            return None
        cached = job.family.snapshots.cached(job.pk, found)
        snapshot = job.family.snapshots.current(job.pk, cached, found)
        if snapshot is None or not CachedPollMixin.poll_matches(job.view, snapshot, principal):
            return None
        job.snapshot, job.tenant_id = snapshot, snapshot.tenant_id
        job.ended = snapshot.retry_after is None
    stream = EventStream(request, jobs, principal, auth_version=found.get(AUTH_VERSION_KEY))
    last_event_id = request.META.get("HTTP_LAST_EVENT_ID")
    stream.resume(last_event_id)
    if last_event_id and stream.up_to_date():
        return None  # the view answers 204
    stream.loaded = True
    return stream


class EventStreamView(PrivateResponsesMixin, APIView):
    """`GET /api/events?job=<family>:<id>`: server-sent events of jobs (see the module)."""

    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer]
    # A stream of events is not a JSON operation: docs/api/watching.md describes it.
    schema = None
    # The family whose envelope answers the current error (None: jobdesk's own).
    error_view: CachedPollMixin | None = None

    def get_exception_handler(self):
        if self.error_view is not None:
            return self.error_view.get_exception_handler()
        return events_exception_handler

    @property
    def required_permission(self) -> str | None:
        """The permission a refusal names (Traffic Ops' 403 text): the job at fault's READ."""
        return self.error_view.required_permission if self.error_view is not None else None

    def initial(self, request, *args, **kwargs) -> None:
        self.jobs = parse_refs(request.query_params)
        self.error_view = self.jobs[0].view
        for job in self.jobs:
            bind_view(job.view, request)
        super().initial(request, *args, **kwargs)

    def get(self, request: Request) -> HttpResponse:
        principal = principal_for(request)
        for job in self.jobs:
            self.open(job, principal)
        stream = EventStream(request, self.jobs, principal)
        stream.resume(request.META.get("HTTP_LAST_EVENT_ID"))
        if request.META.get("HTTP_LAST_EVENT_ID") and stream.up_to_date():
            return HttpResponse(status=HTTPStatus.NO_CONTENT)
        handoff = getattr(request._request, "scope", {}).get(HANDOFF_SCOPE_KEY)
        if handoff is not None:
            handoff["stream"] = stream  # jobs.asgi runs it in the event loop
            return HttpResponse(status=HTTPStatus.OK)
        content = stream.aframes() if hasattr(request._request, "scope") else stream.frames()
        response = StreamingHttpResponse(content, content_type=CONTENT_TYPE)
        for name, value in STREAM_HEADERS.items():
            response[name] = value
        return response

    def open(self, job: WatchedJob, principal: Principal) -> None:
        """Check the job as its family's read would; raise the family's error if refused."""
        self.error_view = job.view
        job.view.check_permissions(self.request)
        job.pk = job.view.watch_key(job.raw_id)
        snapshot = load_snapshot(job, principal)
        if snapshot is None:
            raise exceptions.NotFound()
        job.snapshot, job.tenant_id = snapshot, snapshot.tenant_id
        job.ended = snapshot.retry_after is None
        self.error_view = None
