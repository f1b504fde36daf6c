"""Conditional job reads (RFC 9110): strong ETags, 304, Retry-After and private caching."""

from __future__ import annotations

import hashlib

from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils.http import parse_etags

from jobs.snapshots import Snapshot

# Browsers may keep a job body but must revalidate it (If-None-Match) every time; shared
# caches (proxies, CDNs) must never store an authenticated body.
POLL_CACHE_CONTROL = "private, no-cache"


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


def private_cache_control(response: HttpResponse) -> HttpResponse:
    """Keep shared caches from storing an API response (unless it says otherwise already)."""
    if not response.has_header("Cache-Control"):
        response["Cache-Control"] = POLL_CACHE_CONTROL
    return response
