"""One POST of a delivery: signed, bounded in time and size, never following a redirect."""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

from webhooks.addresses import AddressRefused, check_host
from webhooks.models import RESPONSE_EXCERPT_CHARS, Delivery
from webhooks.signing import signature

if TYPE_CHECKING:
    import urllib3

USER_AGENT = "jobdesk-webhooks/1"
# A receiver asking to be left alone gets its Retry-After honoured on these answers.
RETRY_AFTER_STATUSES = (HTTPStatus.TOO_MANY_REQUESTS, HTTPStatus.SERVICE_UNAVAILABLE)


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: a status code and the start of the answer, or an error."""

    status_code: int | None = None
    excerpt: str = ""
    error: str = ""
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def headers_of(delivery: Delivery, secret: str) -> dict[str, str]:
    """Return the headers of a delivery, signed now."""
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Jobdesk-Event": delivery.event,
        "Jobdesk-Family": delivery.family,
        "Jobdesk-Job-Id": delivery.job_id,
        "Jobdesk-Delivery": str(delivery.delivery_id),
        "Jobdesk-Signature": signature(secret, bytes(delivery.body), int(time.time())),
    }


def send(delivery: Delivery, secret: str) -> Outcome:
    """POST the delivery's body to its endpoint; return what came of it (never raise).

    Each POST has a pool of its own, closed after it: nothing is kept between deliveries, so
    every attempt connects to the address its host was just checked for. urllib3 is imported
    here, by the task worker: the web processes never send."""
    import urllib3

    url = delivery.endpoint.url
    parts = urlsplit(url)
    try:
        check_host(parts.hostname or "", parts.port)
        timeout = settings.JOBDESK_WEBHOOKS_TIMEOUT_SECONDS
        with urllib3.PoolManager(num_pools=1, maxsize=1) as pool:
            response = pool.request(
                "POST",
                url,
                body=bytes(delivery.body),
                headers=headers_of(delivery, secret),
                timeout=urllib3.Timeout(connect=timeout, read=timeout),
                redirect=False,
                retries=False,
                preload_content=False,
            )
            try:
                return Outcome(
                    status_code=response.status,
                    excerpt=excerpt(response),
                    retry_after=retry_after(response),
                )
            finally:
                response.release_conn()
    except AddressRefused as refused:
        return Outcome(error=str(refused))
    except urllib3.exceptions.HTTPError as error:
        return Outcome(error=f"{type(error).__name__}: {error}"[:RESPONSE_EXCERPT_CHARS])


def excerpt(response: urllib3.BaseHTTPResponse) -> str:
    """Return the start of the answer's body, as text."""
    raw = response.read(RESPONSE_EXCERPT_CHARS, decode_content=True) or b""
    return raw.decode("utf-8", errors="replace")[:RESPONSE_EXCERPT_CHARS]


def retry_after(response: urllib3.BaseHTTPResponse) -> float | None:
    """Return the seconds a 429 or 503 asked to wait (`Retry-After`: seconds or a date)."""
    value = response.headers.get("Retry-After", "").strip()
    if response.status not in RETRY_AFTER_STATUSES or not value:
        return None
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        return max((parsedate_to_datetime(value) - timezone.now()).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return None
