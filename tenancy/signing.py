"""Huawei Cloud's AK/SK request signature (`SDK-HMAC-SHA256`), checked as the SDKs compute it.

The Huawei Cloud SDKs (`huaweicloudsdkcore/signer/signer.py`, `Signer.sign`) sign a request:

    canonical request = METHOD \\n canonical URI \\n canonical query \\n canonical headers \\n
                        signed header names \\n hex SHA-256 of the body
    string to sign    = SDK-HMAC-SHA256 \\n <X-Sdk-Date> \\n hex SHA-256 of the canonical request
    Authorization     = SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<a;b;c>, Signature=<hex HMAC>

where the HMAC-SHA256 is keyed with the secret (SK). A body the SDK does not hash (anything but
JSON, such as a zip upload) is marked `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD`, which stands
in for its hash. jobdesk recomputes the same, byte for byte, and compares in constant time.

Everything here is a pure function of the request and the secret: the full authentication
path and the poll fast path call the same code, so they accept exactly the same requests.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote

from django.http import HttpRequest
from django.utils import timezone
from rest_framework import exceptions

ALGORITHM = "SDK-HMAC-SHA256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
# A signed request is valid this long either side of the server's clock (as Huawei Cloud's
# API gateway allows), so a captured request cannot be replayed later.
MAX_CLOCK_SKEW = timedelta(minutes=15)
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_BODY_HASH = hashlib.sha256(b"").hexdigest()
REQUIRED_SIGNED_HEADERS = ("host", "x-sdk-date")
JSON_MEDIA_TYPES = ("application/json", "application/bson")
AUTHORIZATION = re.compile(
    rf"{ALGORITHM} +Access=(?P<access>[A-Za-z0-9_-]{{1,64}}) *, *"
    r"SignedHeaders=(?P<headers>[a-z0-9-]+(?:;[a-z0-9-]+)*) *, *"
    r"Signature=(?P<signature>[0-9a-f]{64})"
)
DATE = re.compile(r"[0-9]{8}T[0-9]{6}Z")
# Headers that WSGI puts in META without the HTTP_ prefix.
UNPREFIXED_HEADERS = {"content-type": "CONTENT_TYPE", "content-length": "CONTENT_LENGTH"}


class SignatureRejected(exceptions.AuthenticationFailed):
    """A signed request that cannot be accepted; `code` says why."""


@dataclass(frozen=True, slots=True)
class Signature:
    """What an `Authorization: SDK-HMAC-SHA256 ...` header presents."""

    access_key_id: str
    signed_headers: tuple[str, ...]
    signature: str


def presented_signature(meta: dict) -> Signature | None:
    """Return the request's AK/SK signature; None if it uses another scheme.

    A header of this scheme that is malformed, or that leaves `host` or `x-sdk-date` unsigned,
    is refused here, before any key is looked up.
    """
    header = meta.get("HTTP_AUTHORIZATION", "").strip()
    scheme, _, _ = header.partition(" ")
    if scheme != ALGORITHM:
        return None
    match = AUTHORIZATION.fullmatch(header)
    if match is None:
        raise SignatureRejected(
            "The Authorization header is not a valid SDK-HMAC-SHA256 signature.",
            code="malformed_signature",
        )
    signed = tuple(match["headers"].split(";"))
    if not set(REQUIRED_SIGNED_HEADERS) <= set(signed):
        raise SignatureRejected("host and x-sdk-date must be signed.", code="unsigned_headers")
    return Signature(match["access"], signed, match["signature"])


def check_date(meta: dict, now: datetime | None = None) -> str:
    """Return the request's `X-Sdk-Date` if it is within MAX_CLOCK_SKEW of `now`."""
    text = meta.get("HTTP_X_SDK_DATE", "")
    try:
        if not DATE.fullmatch(text):
            raise ValueError(text)
        signed_at = datetime.strptime(text, DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise SignatureRejected(
            "X-Sdk-Date must be a UTC time such as 20260115T150000Z.", code="stale_date"
        ) from None
    if abs((now or timezone.now()) - signed_at) > MAX_CLOCK_SKEW:
        raise SignatureRejected(
            "X-Sdk-Date is more than 15 minutes away from the server's time.", code="stale_date"
        )
    return text


def verify(request: HttpRequest, signature: Signature, secret: str) -> None:
    """Refuse `request` unless `signature` is its HMAC under `secret`, as the SDK computes it."""
    date = check_date(request.META)
    canonical = canonical_request(request, signature.signed_headers)
    expected = sign(secret, string_to_sign(date, canonical))
    if not hmac.compare_digest(expected, signature.signature):
        raise SignatureRejected("The signature does not match the request.", code="bad_signature")


def sign(secret: str, text: str) -> str:
    """Return the hex HMAC-SHA256 of `text` keyed with `secret`."""
    return hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).hexdigest()


def string_to_sign(date: str, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{date}\n{digest}"


def canonical_request(request: HttpRequest, signed_headers: tuple[str, ...]) -> str:
    """Return the SDK's canonical request for `request`, signing `signed_headers`."""
    headers = "".join(f"{name}:{header_value(request.META, name)}\n" for name in signed_headers)
    return "\n".join(
        [
            request.method.upper(),
            canonical_uri(request.path),
            canonical_query(request.META.get("QUERY_STRING", "")),
            headers,
            ";".join(signed_headers),
            payload_hash(request),
        ]
    )


def canonical_uri(path: str) -> str:
    """Return the SDK's canonical URI: each decoded segment percent-encoded, a final slash."""
    uri = "/".join(quote(segment, safe="~") for segment in path.split("/"))
    return uri if uri.endswith("/") else uri + "/"


def wsgi_text(value: str) -> str:
    """Return a WSGI string (bytes as ISO-8859-1) as the UTF-8 text the client sent."""
    return value.encode("iso-8859-1").decode("utf-8")


def canonical_query(query_string: str) -> str:
    """Return the SDK's canonical query: decoded pairs sorted, each part percent-encoded."""
    try:
        text = wsgi_text(query_string)
    except UnicodeError:
        raise SignatureRejected("The query string is not UTF-8.", code="bad_signature") from None
    pairs = []
    for part in filter(None, text.split("&")):
        key, _, value = part.partition("=")
        pairs.append((unquote(key), unquote(value)))
    return "&".join(
        f"{quote(key, safe='~')}={quote(value, safe='~')}" for key, value in sorted(pairs)
    )


def header_value(meta: dict, name: str) -> str:
    """Return the signed header `name` as the SDK puts it in the canonical request."""
    key = UNPREFIXED_HEADERS.get(name) or "HTTP_" + name.upper().replace("-", "_")
    if key not in meta:
        raise SignatureRejected(f"The signed header {name} is missing.", code="bad_signature")
    try:
        return wsgi_text(meta[key]).strip()
    except UnicodeError:
        raise SignatureRejected(f"The header {name} is not UTF-8.", code="bad_signature") from None


def payload_hash(request: HttpRequest) -> str:
    """Return what stands for the body in the canonical request (as `Signer._process_hash_payload`).

    No body hashes as the empty string. A non-JSON body may be marked UNSIGNED-PAYLOAD (the
    SDK does so for uploads); a JSON body is always hashed, so its content is signed.
    """
    if (request.META.get("CONTENT_LENGTH") or "0") == "0":
        return EMPTY_BODY_HASH
    declared = request.META.get("HTTP_X_SDK_CONTENT_SHA256")
    if declared == UNSIGNED_PAYLOAD:
        if request.META.get("CONTENT_TYPE", "").startswith(JSON_MEDIA_TYPES):
            raise SignatureRejected("A JSON body must be signed.", code="bad_signature")
        return UNSIGNED_PAYLOAD
    digest = hashlib.sha256(request.body).hexdigest()
    if declared is not None and declared != digest:
        raise SignatureRejected(
            "X-Sdk-Content-Sha256 does not match the body.", code="bad_signature"
        )
    return digest
