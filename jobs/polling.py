"""The poll hot path: a family's job read answered from its cached snapshot.

`CachedPollMixin` serves a family's job read:

- the full DRF path authenticates and checks permissions as before, then answers from the
  snapshot (or loads the job with the family's scoped query and stores a new snapshot);
- before DRF, a GET with a cached API token whose snapshot is cached is answered directly:
  one cache round trip, no query. It serves only what the full path would serve, byte for
  byte and header for header; anything else (no token, a miss, a refusal, an odd `Accept`)
  falls through to the full path, which remains the one place errors are decided.

Two pieces here reach into DRF's internals for speed, and are pinned by the byte-for-byte
tests of the hot path: `NegotiationRequest` is just enough of a request for DRF's content
negotiation, and `fast_poll` sets `self.headers` the way `APIView.dispatch` does so that
`finalize_response` works outside `dispatch`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable
from typing import Any

from django.db import models
from django.http import HttpRequest, HttpResponse
from rest_framework.exceptions import APIException, NotAcceptable

from jobs.conditional import poll_response, strong_etag
from jobs.metrics import poll_lookups
from jobs.snapshots import JobSnapshots, Snapshot
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

    A family view (a `FamilyAPIView`, which names its `family`) implements `poll_key` (the
    job's primary key from the URL, raising the family's error for junk), `poll_object` (the
    scoped database read, raising the family's errors) and, where the URL says more than the
    job id, `poll_matches`. `poll_data` adapts the stored data to the request.
    """

    required_permission: str

    @property
    def snapshots(self) -> JobSnapshots:
        return self.family.snapshots

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
        hit = snapshot is not None and self.poll_matches(snapshot, principal_for(request))
        poll_lookups.count(self.family.name, hit=hit)
        if not hit:
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
        poll_lookups.count(self.family.name, hit=True)
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
