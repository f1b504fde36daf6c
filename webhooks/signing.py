"""Webhook signatures, as Stripe signs its events: `t=<unix time>,v1=<hex HMAC-SHA256>`.

The HMAC is of `f"{t}.{body}"` with the endpoint's secret. The time in the signed text lets a
receiver refuse a replayed delivery: `verify` accepts a signature only within `tolerance`
seconds of its own clock. docs/api/webhooks.md shows `verify` to receivers, verbatim (a test
holds the page to this source).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

SECRET_PREFIX = "whsec_"  # noqa: S105 - what a secret starts with, not a secret


def new_secret() -> str:
    """Return a fresh signing secret."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """Return the `Jobdesk-Signature` header of `body` sent at `timestamp`."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, body: bytes, header: str, tolerance: int = 300, now=None) -> bool:
    """Return True if `header` (Jobdesk-Signature) signs `body` with `secret`, recently."""
    pairs = [item.strip().split("=", 1) for item in header.split(",") if "=" in item]
    stamps = [value for name, value in pairs if name == "t"]
    if len(stamps) != 1 or not (stamps[0].isascii() and stamps[0].isdigit()):
        return False
    timestamp = int(stamps[0])
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False  # too old (a replay), or from the future
    signed = f"{timestamp}.".encode() + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, value) for name, value in pairs if name == "v1")
