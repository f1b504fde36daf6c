"""The poll hot path: a job read answered from a cached snapshot, with ETag, 304 and Retry-After.

Each family keeps one `JobSnapshots`: per job, the wire body the family's read returns (with
request-dependent parts such as absolute URLs left for the response), the job's tenant, what
the URL must match, and the `Retry-After` hint while the job is pending. The family's write
services call `changed()` after every change; that bumps the job's version (now and after
the commit, see `tenancy.caching`) and then replaces the snapshot from the committed row, so
the next poll is a hit and no poll ever sees a body older than the last commit.

`CachedPollMixin` serves a family's job read:

- the full DRF path authenticates and checks permissions as before, then answers from the
  snapshot (or loads the job with the family's scoped query and stores a new snapshot);
- before DRF, a GET with a cached API token whose snapshot is cached is answered directly:
  one cache round trip, no query. It serves only what the full path would serve, byte for
  byte and header for header; anything else (no token, a miss, a refusal, an odd `Accept`)
  falls through to the full path, which remains the one place errors are decided.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils.http import parse_etags
from rest_framework.exceptions import APIException, NotAcceptable

from tenancy import caching
from tenancy.access import Principal, principal_for
from tenancy.authentication import (
    AUTH_VERSION_KEY,
    TokenAuthentication,
    TokenRejected,
    cached_token,
    check_raw_key,
    digest_key,
    last_use_due,
    token_cache_key,
)

logger = logging.getLogger(__name__)

# Browsers may keep a job body but must revalidate it (If-None-Match) every time; shared
# caches (proxies, CDNs) must never store an authenticated body.
POLL_CACHE_CONTROL = "private, no-cache"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One job as a poll returns it, stamped with the job's cache version."""

    version: int | None
    tenant_id: int
    data: Any
    retry_after: int | None
    scope: tuple = ()


def retry_after(family: str, kind: str | None) -> int:
    """Return the `Retry-After` seconds for a pending job of `family` and tag or type `kind`."""
    by_kind = settings.JOBDESK_RETRY_AFTER.get(family, {})
    return by_kind.get(kind, settings.JOBDESK_RETRY_AFTER_SECONDS)


class JobSnapshots:
    """The cached snapshots of one family's jobs."""

    def __init__(
        self,
        family: str,
        *,
        load: Callable[[Hashable], models.Model | None],
        describe: Callable[[models.Model], tuple[int, Any, int | None, tuple]],
    ) -> None:
        """`load(pk)` reads a job across tenants (None if gone); `describe(job)` returns its
        (tenant id, wire data, Retry-After or None once finished, URL scope)."""
        self.family = family
        self.load = load
        self.describe = describe

    @property
    def timeout(self) -> int:
        return settings.JOBDESK_SNAPSHOT_SECONDS

    def version_key(self, pk: Hashable) -> str:
        return f"jobdesk:{caching.SCHEMA}:job:{self.family}:{pk}:version"

    def snapshot_key(self, pk: Hashable) -> str:
        return f"jobdesk:{caching.SCHEMA}:job:{self.family}:{pk}:snapshot"

    def keys(self, pk: Hashable) -> list[str]:
        return [self.version_key(pk), self.snapshot_key(pk)]

    def cached(self, pk: Hashable, found: dict[str, Any]) -> Snapshot | None:
        """Return the snapshot among `found` cache values if it is the job's current one."""
        snapshot = found.get(self.snapshot_key(pk))
        if not isinstance(snapshot, Snapshot) or snapshot.version is None:
            return None
        return snapshot if snapshot.version == found.get(self.version_key(pk)) else None

    def lookup(self, pk: Hashable) -> tuple[Snapshot | None, dict[str, Any]]:
        """Return the current snapshot of job `pk` (or None) and the cache values read."""
        if self.timeout <= 0:
            return None, {}
        found = caching.read_many(self.keys(pk))
        return self.cached(pk, found), found

    def capture(self, job: models.Model, found: dict[str, Any]) -> Snapshot:
        """Return a snapshot of `job`, stamped with the version read before it was loaded.

        Call `version_before_load` first; `found` carries the version it returned.
        """
        tenant_id, data, wait, scope = self.describe(job)
        return Snapshot(found.get(self.version_key(job.pk)), tenant_id, data, wait, scope)

    def version_before_load(self, pk: Hashable, found: dict[str, Any]) -> None:
        """Make sure `found` holds job `pk`'s version, read before the job is loaded."""
        if self.timeout > 0:
            key = self.version_key(pk)
            found[key] = caching.current_version(key, found.get(key))

    def store(self, pk: Hashable, snapshot: Snapshot) -> None:
        if snapshot.version is not None and self.timeout > 0:
            caching.write(self.snapshot_key(pk), snapshot, self.timeout)

    def changed(self, *pks: Hashable) -> None:
        """Record that jobs `pks` changed (or were deleted): bump, then replace after commit.

        Only jobs polled recently (whose version is cached) get a new snapshot; the others are
        left for their next poll to load.
        """
        if self.timeout <= 0 or not pks:
            return
        by_key = {self.version_key(pk): pk for pk in pks}

        def replace(versions: dict[str, int | None]) -> None:
            for key, version in versions.items():
                if version is not None:
                    self.replace(by_key[key], version)

        caching.bump_now_and_after_commit(by_key, replace)

    def replace(self, pk: Hashable, version: int) -> None:
        """Store a snapshot of job `pk` read from the database after `version` was set."""
        try:
            job = self.load(pk)
            if job is not None:
                self.store(pk, self.capture(job, {self.version_key(pk): version}))
        except Exception:
            # The write itself has committed; the next poll loads the job instead.
            logger.warning(
                "Could not replace the snapshot of %s %s.", self.family, pk, exc_info=True
            )


def strong_etag(body: bytes) -> str:
    """Return a strong entity tag for a response body."""
    return f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Return True if an `If-None-Match` header names `etag` (weak comparison, RFC 9110)."""
    if not if_none_match:
        return False
    tags = parse_etags(if_none_match)
    return tags == ["*"] or etag in (tag.removeprefix("W/") for tag in tags)


def poll_response(
    request: HttpRequest, snapshot: Snapshot, body: bytes, etag: str, renderer
) -> HttpResponse:
    """Return the job's body (or 304 if the client has it) with ETag, Retry-After, no sharing."""
    if etag_matches(request.META.get("HTTP_IF_NONE_MATCH"), etag):
        response = HttpResponseNotModified()
    else:
        content_type = renderer.media_type
        if renderer.charset:
            content_type = f"{content_type}; charset={renderer.charset}"
        response = HttpResponse(body, content_type=content_type)
    response["ETag"] = etag
    response["Cache-Control"] = POLL_CACHE_CONTROL
    if snapshot.retry_after:
        response["Retry-After"] = str(snapshot.retry_after)
    return response


class RenderedBodies:
    """The body and ETag this process last rendered for each job and request variant.

    An entry is reused only for the very snapshot object it was rendered from. Snapshots read
    from Redis are decoded once per distinct stored value (see `tenancy.cache_backends`), so a
    job's next poll brings the same object until the stored snapshot changes in any way.
    """

    MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self.entries: dict[Hashable, tuple[Snapshot, bytes, str]] = {}

    def get(
        self, key: Hashable, snapshot: Snapshot, render: Callable[[], bytes]
    ) -> tuple[bytes, str]:
        found = self.entries.get(key)
        if found is not None and found[0] is snapshot:
            return found[1], found[2]
        body = render()
        etag = strong_etag(body)
        if len(self.entries) >= self.MAX_ENTRIES:
            self.entries.clear()
        self.entries[key] = (snapshot, body, etag)
        return body, etag


rendered_bodies = RenderedBodies()


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

    A family view sets `snapshots` and implements `poll_key` (the job's primary key from
    the URL, raising the family's error for junk), `poll_object` (the scoped database read,
    raising the family's errors) and, where the URL says more than the job id,
    `poll_matches`. `poll_data` adapts the stored data to the request.
    """

    snapshots: JobSnapshots
    required_permission: str

    def poll_key(self) -> Hashable:
        raise NotImplementedError

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
    ) -> HttpResponse:
        """Render (or reuse) the body of `snapshot` for this request and answer with it."""
        key = (type(self), pk, media_type, self.poll_variant(request))
        body, etag = rendered_bodies.get(
            key,
            snapshot,
            lambda: renderer.render(self.poll_data(snapshot, request), media_type, context or {}),
        )
        return poll_response(request, snapshot, body, etag, renderer)

    def poll(self, request) -> HttpResponse:
        """Answer the job read in the full DRF path (authenticated and permitted already)."""
        pk = self.poll_key()
        snapshot, found = self.snapshots.lookup(pk)
        if snapshot is None or not self.poll_matches(snapshot, principal_for(request)):
            self.snapshots.version_before_load(pk, found)
            snapshot = self.snapshots.capture(self.poll_object(), found)
            self.snapshots.store(pk, snapshot)
        return self.poll_answer(
            request,
            pk,
            snapshot,
            request.accepted_renderer,
            request.accepted_media_type,
            self.get_renderer_context(),
        )

    def dispatch(self, request, *args, **kwargs):
        if request.method == "GET":
            response = self.fast_poll(request)
            if response is not None:
                return response
        return super().dispatch(request, *args, **kwargs)

    def fast_poll(self, request: HttpRequest) -> HttpResponse | None:
        """Answer a GET whose token and snapshot are cached and current; else None."""
        if self.snapshots.timeout <= 0 or "format" in request.GET:
            return None
        raw_key = self.presented_token(request)
        if raw_key is None:
            return None
        try:
            check_raw_key(raw_key)
            pk = self.poll_key()
        except APIException:
            return None
        digest = digest_key(raw_key)
        found = caching.read_many(
            [AUTH_VERSION_KEY, token_cache_key(digest), *self.snapshots.keys(pk)]
        )
        try:
            token = cached_token(digest, found, shared=True)
        except TokenRejected:
            return None
        if token is None or last_use_due(token):
            return None
        principal = Principal(token.user, token)
        snapshot = self.snapshots.cached(pk, found)
        if (
            snapshot is None
            or not self.poll_permitted(principal)
            or not self.poll_matches(snapshot, principal)
        ):
            return None
        choice = negotiated(type(self), request.META.get("HTTP_ACCEPT"))
        if choice is None:
            return None
        response = self.poll_answer(request, pk, snapshot, *choice)
        self.headers = self.default_response_headers
        return self.finalize_response(request, response)

    def presented_token(self, request: HttpRequest) -> str | None:
        """Return the API key DRF's authenticators would use, or None if they would use none.

        Authenticators run in order and the first that finds credentials wins; a session or
        anything else before a token means this request is not for the fast path.
        """
        for authenticator in self.get_authenticators():
            if not isinstance(authenticator, TokenAuthentication):
                return None
            raw_key = authenticator.get_raw_key(request)
            if raw_key is not None:
                return raw_key
        return None


def private_cache_control(response: HttpResponse) -> HttpResponse:
    """Keep shared caches from storing an API response (unless it says otherwise already)."""
    if not response.has_header("Cache-Control"):
        response["Cache-Control"] = POLL_CACHE_CONTROL
    return response


class PrivateResponsesMixin:
    """Give every response of a family's API views `Cache-Control: private, no-cache`."""

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        return private_cache_control(response)
