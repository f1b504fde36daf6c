"""The poll hot path: a family's job read answered from its cached snapshot.

`CachedPollMixin` serves a family's job read:

- the full DRF path authenticates and checks permissions as before, then answers from the
  snapshot (or loads the job with the family's scoped query and stores a new snapshot);
- before DRF (and, through `jobs.middleware.PollFastPathMiddleware`, before most of the
  middleware), a GET with a cached credential (an API token, or an access key whose
  signature checks out) whose snapshot is cached is answered directly: one cache round trip,
  no query. It serves only what the full path would serve, byte for byte and header for
  header; anything else (no credential, a miss, a refusal, an odd `Accept`) falls through to
  the full path, which remains the one place errors are decided.

Two pieces here reach into DRF's internals for speed, and are pinned by the byte-for-byte
tests of the hot path: `NegotiationRequest` is just enough of a request for DRF's content
negotiation, and `fast_poll` sets `self.headers` the way `APIView.dispatch` does so that
`finalize_response` works outside `dispatch`.

Under WSGI (`jobs.wsgi`) a fast answer is built from its `AnswerShapes` once the stack's
answer of the same shape has been seen: its headers, with the job's own values put in.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from django.core.signals import setting_changed
from django.db import models
from django.http import HttpRequest, HttpResponse
from rest_framework.exceptions import APIException, NotAcceptable, ValidationError

from jobs.conditional import etag_matches, poll_response, strong_etag
from jobs.metrics import poll_lookups
from jobs.snapshots import JobSnapshots, Snapshot
from tenancy import caching
from tenancy.access import Principal, principal_for
from tenancy.authentication import FastLookup, FastPathDeclined
from tenancy.memo import BoundedMemo

# `?wait=<seconds>`: a decimal number of seconds, at most MAX_WAIT_SECONDS.
WAIT_PATTERN = re.compile(r"[0-9]{1,2}(?:\.[0-9]{1,3})?")
MAX_WAIT_SECONDS = 60
WAIT_ATTRIBUTE = "jobdesk_poll_wait"
# Set on a request whose fast path `jobs.middleware.PollFastPathMiddleware` tried already.
FAST_PATH_TRIED = "jobdesk_fast_path_tried"
# Set on a request whose job snapshot was read from the database just before its fast path
# (`jobs.middleware.EarlyChecks`): its answer counts as a miss of the snapshot cache.
SNAPSHOT_LOADED = "jobdesk_snapshot_loaded"
# Set on a request whose fast path found its credential in the cache but no snapshot it could
# serve: the values the cache gave. `jobs.middleware.EarlyChecks` adds the snapshot it loads,
# and the fast path's next try answers from them instead of reading the cache again.
CACHE_READ = "jobdesk_poll_cache_read"
# Set on a request by `jobs.wsgi`: the `AnswerShapes` its fast answer may be built from.
ANSWER_SHAPES = "jobdesk_answer_shapes"
# Set on a fast answer the stack built in full: its shape and values, for `AnswerShapes.learn`.
SHAPE_TO_LEARN = "jobdesk_shape_to_learn"


@dataclass(frozen=True, slots=True)
class PollWait:
    """A conditional read answered 304 that asked to wait: what to wait for, and how long.

    The view attaches it to its response; `jobs.middleware.PollWaitMiddleware` (or, under
    ASGI, `jobs.asgi`) holds the answer until the job changes or the time is up, then asks
    the view again.
    """

    family: str
    job_id: str
    version: int
    seconds: float


def parse_wait(raw: str | None) -> float | None:
    """Return `?wait=` as seconds (None when absent); raise ValidationError for junk."""
    if raw is None:
        return None
    if not WAIT_PATTERN.fullmatch(raw) or float(raw) > MAX_WAIT_SECONDS:
        raise ValidationError(
            {"wait": f"Give a number of seconds from 0 to {MAX_WAIT_SECONDS}, such as 30."}
        )
    return float(raw)


class RenderedBodies:
    """The body and ETag this process last rendered for each job and request variant.

    An entry is reused only for the very snapshot object it was rendered from. A snapshot read
    from Redis is decoded once until its stored value changes (see `tenancy.cache_backends`),
    so a job's next poll brings the same object until the stored snapshot changes in any way.
    """

    # At most this many entries and bytes of bodies (`tenancy.memo`).
    MAX_ENTRIES = 10_000
    MAX_BYTES = 2 * 1024 * 1024

    def __init__(self) -> None:
        self.memo: BoundedMemo[tuple[Snapshot, bytes, str]] = BoundedMemo(
            self.MAX_ENTRIES, self.MAX_BYTES, size_of=lambda entry: len(entry[1])
        )

    def get(
        self, key: Hashable, snapshot: Snapshot, render: Callable[[], bytes]
    ) -> tuple[bytes, str]:
        found = self.memo.get(key)
        if found is not None and found[0] is snapshot:
            return found[1], found[2]
        body = render()
        etag = strong_etag(body)
        self.memo.put(key, (snapshot, body, etag))
        return body, etag


rendered_bodies = RenderedBodies()


@dataclass(frozen=True, slots=True)
class ShapedAnswer:
    """A cached poll's answer, status line and headers as the whole stack gives them."""

    status_code: int
    status: str
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True, slots=True)
class Shape:
    """A finished answer's status and headers, None in place of each value of the job's own."""

    status_code: int
    status: str
    headers: tuple[tuple[str, str | None], ...]


class AnswerShapes:
    """The headers the whole stack gives a cached poll's answer, learnt once per shape.

    Building a fast answer as an `HttpResponse` and finishing it (DRF's `finalize_response`,
    then the replayed middleware: security headers, Content-Length, X-Frame-Options) cost
    more than the rest of the answer, and set the same headers on every answer of one shape:
    one view and route, renderer and media type, status (200 or 304), scheme (HSTS) and set
    of the answer's own values (`CachedPollMixin.answer_values`: its ETag, Content-Length,
    Retry-After, and what the view adds per request). So the answer is built and finished in
    full until two finished answers of a shape agree, header for header, outside those values,
    and the values are each answer's own; from then on an answer of that shape is its headers
    with the values put in. Besides the values, a shape holds only the headers of
    `SHAPED_HEADERS`, whose values the stack derives from what the key names and the settings:
    an answer with any other header (one a new middleware or view adds, which may depend on
    the request) is never shaped, and neither is one whose headers changed between two
    answers. Shapes are forgotten when a setting changes (the middleware reads some per
    request), an answer built before that is not learnt after it, and all are forgotten at
    once past `MAX_SHAPES`.
    """

    MAX_SHAPES = 256
    # The headers a shape may hold as they are: those the stack sets on a fast answer from
    # the view and route (Allow, Vary), the renderer (Content-Type), the status, the scheme
    # (Strict-Transport-Security) and the settings (the security middleware's, X-Frame-Options).
    SHAPED_HEADERS = frozenset(
        {
            "Content-Type",
            "Cache-Control",
            "Allow",
            "Vary",
            "X-Content-Type-Options",
            "Referrer-Policy",
            "Cross-Origin-Opener-Policy",
            "X-Frame-Options",
            "Strict-Transport-Security",
        }
    )

    def __init__(self) -> None:
        self.shapes: dict[Hashable, Shape] = {}
        self.seen: dict[Hashable, Shape] = {}
        self.generation = 0
        setting_changed.connect(self.forget)

    def forget(self, **kwargs: Any) -> None:
        self.generation += 1
        self.shapes, self.seen = {}, {}

    def answer(self, key: Hashable, values: dict[str, str], body: bytes) -> ShapedAnswer | None:
        """Return the answer of shape `key` with `values` and `body`, if the shape is known."""
        shape = self.shapes.get(key)
        if shape is None:
            return None
        headers = [
            (name, values[name] if value is None else value) for name, value in shape.headers
        ]
        return ShapedAnswer(shape.status_code, shape.status, headers, body)

    def learn(self, response: HttpResponse) -> None:
        """Take the shape of a fast answer the stack built and finished in full."""
        key, values, generation = getattr(response, SHAPE_TO_LEARN)
        items = list(response.items())
        if (
            generation != self.generation  # built before a setting changed
            or response.cookies
            or {name: v for name, v in items if name in values} != values  # a value changed
            or any(name not in values and name not in self.SHAPED_HEADERS for name, _ in items)
        ):
            return
        headers = tuple((name, None if name in values else value) for name, value in items)
        shape = Shape(
            response.status_code, f"{response.status_code} {response.reason_phrase}", headers
        )
        if self.seen.get(key) != shape:
            self.seen[key] = shape
            return
        if len(self.shapes) >= self.MAX_SHAPES:
            self.forget()
        self.shapes[key] = shape


@functools.lru_cache(maxsize=1024)
def negotiated(view_class: type, accept: str | None):
    """Return the (renderer, media type) DRF picks for `Accept`, or None if it needs more."""
    view = view_class()
    request = NegotiationRequest(accept)
    try:
        renderer, media_type = view.get_content_negotiator().select_renderer(
            request, view.get_renderers()
        )
    except NotAcceptable:
        return None
    # A media type with parameters (`; indent=4`) changes the body: leave it to DRF.
    return (renderer, media_type) if media_type == renderer.media_type else None


class NegotiationRequest:
    """Just what DRF's content negotiation reads from a request."""

    query_params: dict = {}

    def __init__(self, accept: str | None) -> None:
        # An empty header is not a missing one: DRF refuses "" but reads a missing one as */*.
        self.META = {} if accept is None else {"HTTP_ACCEPT": accept}
        self.headers = {} if accept is None else {"accept": accept}


class CachedPollMixin:
    """A DRF job read (GET) served from the family's snapshots; see the module docstring.

    A family view (a `FamilyAPIView`, which names its `family`) implements `poll_key` (the
    job's primary key from the URL, raising the family's error for junk), `poll_object` (the
    scoped database read, raising the family's errors) and, where the URL says more than the
    job id, `poll_matches`. `poll_data` adapts the stored data to the request.
    """

    required_permission: str

    @property
    def snapshots(self) -> JobSnapshots:
        return self.family.snapshots

    # The URL keyword that holds the job's id (`watch_key` reads an id given elsewhere).
    watch_id_kwarg = "pk"

    def poll_key(self) -> Hashable:
        raise NotImplementedError

    def watch_key(self, raw_id: str) -> Hashable:
        """Return the job's primary key from an id given outside the URL, as `poll_key` would."""
        self.kwargs = {self.watch_id_kwarg: raw_id}
        return self.poll_key()

    def poll_object(self) -> models.Model:
        return self.get_object()

    def poll_permitted(self, principal: Principal) -> bool:
        """The view's permission check, for a token principal (the fast path)."""
        return principal.holds_anywhere(self.required_permission)

    def poll_matches(self, snapshot: Snapshot, principal: Principal) -> bool:
        """Return True if `principal` may read the job this URL names, as `poll_object` would."""
        return snapshot.tenant_id in principal.tenant_scope(self.required_permission)

    def poll_data(self, snapshot: Snapshot, request: HttpRequest) -> Any:
        return snapshot.data

    def poll_variant(self, request: HttpRequest) -> Hashable:
        """What, besides the snapshot, `poll_data` depends on (such as the host)."""
        return ()

    def poll_answer(
        self, request, pk: Hashable, snapshot: Snapshot, renderer, media_type: str, context=None
    ) -> HttpResponse | ShapedAnswer:
        """Render (or reuse) the body of `snapshot` for this request and answer with it: as a
        `ShapedAnswer` where the request carries `ANSWER_SHAPES` and the shape is known."""
        key = (type(self), pk, media_type, self.poll_variant(request))
        body, etag = rendered_bodies.get(
            key,
            snapshot,
            lambda: renderer.render(self.poll_data(snapshot, request), media_type, context or {}),
        )
        wait = self.poll_wait_seconds
        shapes = None if wait else getattr(request, ANSWER_SHAPES, None)
        if shapes is not None:
            not_modified = etag_matches(request.META.get("HTTP_IF_NONE_MATCH"), etag)
            sent = b"" if not_modified else body
            values = self.answer_values(request, snapshot, etag, sent)
            shape = (
                request.resolver_match.func,
                type(renderer),
                media_type,
                not_modified,
                request.is_secure(),
                tuple(values),
            )
            answer = shapes.answer(shape, values, sent)
            if answer is not None:
                return answer
        response = poll_response(request, snapshot, body, etag, renderer)
        if shapes is not None:
            setattr(response, SHAPE_TO_LEARN, (shape, values, shapes.generation))
        if wait and response.status_code == 304 and snapshot.version is not None:
            setattr(
                response,
                WAIT_ATTRIBUTE,
                PollWait(self.family.name, str(pk), snapshot.version, wait),
            )
        return response

    poll_wait_seconds: float | None = None

    def answer_values(
        self, request: HttpRequest, snapshot: Snapshot, etag: str, body: bytes
    ) -> dict[str, str]:
        """The headers of a fast answer that are its own (`AnswerShapes`), by name, as the
        finished answer has them. A view that sets a header per request adds it here."""
        values = {"ETag": etag, "Content-Length": str(len(body))}
        if snapshot.retry_after:
            values["Retry-After"] = str(snapshot.retry_after)
        return values

    def poll(self, request) -> HttpResponse:
        """Answer the job read in the full DRF path (authenticated and permitted already)."""
        self.poll_wait_seconds = parse_wait(request.query_params.get("wait"))
        pk, snapshot = self.poll_snapshot(request)
        return self.poll_answer(
            request,
            pk,
            snapshot,
            request.accepted_renderer,
            request.accepted_media_type,
            self.get_renderer_context(),
        )

    def poll_snapshot(self, request) -> tuple[Hashable, Snapshot]:
        """Return the job's key and current snapshot, loading it if the cache has none.

        For any view that answers from the job as a poll does (a family's own wait method);
        the request is authenticated and permitted already.
        """
        pk = self.poll_key()
        cached, found = self.snapshots.lookup(pk)
        if cached is not None and not self.poll_matches(cached, principal_for(request)):
            cached = None
        hit = cached is not None and caching.fresh(cached.stored_at)
        poll_lookups.count(self.family.name, hit=hit)
        if hit:
            return pk, cached
        self.snapshots.version_before_load(pk, found)

        def load() -> Snapshot:
            if cached is not None and (again := self.snapshots.revalidated(pk, cached)):
                return again
            return self.snapshots.capture(self.poll_object(), found)

        snapshot = caching.load_or_stale(load, stale=cached)
        if snapshot is not cached:
            self.snapshots.store(pk, snapshot)
        return pk, snapshot

    def dispatch(self, request, *args, **kwargs):
        if request.method == "GET" and not getattr(request, FAST_PATH_TRIED, False):
            response = self.fast_poll(request)
            if response is not None:
                return response
        return super().dispatch(request, *args, **kwargs)

    def fast_poll(self, request: HttpRequest) -> HttpResponse | ShapedAnswer | None:
        """Answer a GET whose token and snapshot are cached and current; else None. The answer
        is a `ShapedAnswer`, finished already, where the request carries `ANSWER_SHAPES`."""
        if self.snapshots.timeout <= 0 or "format" in request.GET:
            return None
        if "wait" in request.GET:
            try:
                self.poll_wait_seconds = parse_wait(request.GET["wait"])
            except ValidationError:
                return None  # the full path answers it in the family's envelope
        lookup = self.presented_credential(request)
        if lookup is None:
            return None
        try:
            pk = self.poll_key()
        except APIException:
            return None
        found = getattr(request, CACHE_READ, None)
        if found is None:
            found = caching.read_many([*lookup.keys, *self.snapshots.keys(pk)])
        token = lookup.resolve(found)
        if token is None:
            return None
        principal = Principal(token.user, token)
        snapshot = self.snapshots.cached(pk, found)
        if snapshot is None or not caching.usable(snapshot.stored_at):
            setattr(request, CACHE_READ, found)
            return None
        if not self.poll_permitted(principal) or not self.poll_matches(snapshot, principal):
            return None
        choice = negotiated(type(self), request.META.get("HTTP_ACCEPT"))
        if choice is None:
            return None
        response = self.poll_answer(request, pk, snapshot, *choice)
        poll_lookups.count(self.family.name, hit=not getattr(request, SNAPSHOT_LOADED, False))
        if isinstance(response, ShapedAnswer):
            return response
        self.headers = self.default_response_headers
        return self.finalize_response(request, response)

    def presented_credential(self, request: HttpRequest) -> FastLookup | None:
        """Return how to resolve the credential DRF's authenticators would use, from the cache.

        Authenticators run in order and the first that finds credentials wins; a session or
        anything else without a `fast_lookup` before it, or credentials that only the full
        path may judge (malformed ones), mean this request is not for the fast path.
        """
        for authenticator in self.get_authenticators():
            fast_lookup = getattr(authenticator, "fast_lookup", None)
            if fast_lookup is None:
                return None
            try:
                lookup = fast_lookup(request)
            except FastPathDeclined:
                return None
            if lookup is not None:
                return lookup
        return None
