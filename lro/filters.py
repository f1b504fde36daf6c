"""Listing operations as `ListOperations` does: a filter, a page size and opaque page tokens.

The filter is the `done` field of AIP-160's syntax (`done=true`, `done = false`); anything
else is INVALID_ARGUMENT. Pages come newest first. A page token is signed (Django's signing,
under SECRET_KEY) and carries the tenant, the filter and where the page ended, so a tampered
token, another tenant's, or one used with another filter is INVALID_ARGUMENT (AIP-158: the
other parameters must match the call that made the token; the page size may change).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from django.core import signing
from django.db.models import Q
from django.utils.dateparse import parse_datetime

from jobs.models import JobQuerySet
from lro.errors import InvalidArgument
from lro.models import Operation

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
# Longer values are junk, not parsed.
MAX_PARAMETER_LENGTH = 2048
PAGE_TOKEN_SALT = "lro.page-token"  # noqa: S105 - a signing namespace, not a secret
DONE_FILTER = re.compile(r" *(?:done *= *(true|false) *)?")
PAGE_SIZE = re.compile(r"[0-9]{1,9}")


@dataclass(frozen=True)
class Listing:
    """One `ListOperations` call: the filter (None: every operation), page size and start."""

    done: bool | None
    page_size: int
    after: tuple[datetime, int] | None

    @property
    def filter_text(self) -> str:
        """The filter in one canonical spelling, which page tokens are bound to."""
        return "" if self.done is None else f"done={str(self.done).lower()}"

    def page(self, operations: JobQuerySet) -> tuple[list[Operation], tuple[datetime, int] | None]:
        """Return this page of `operations`, and where the next page starts (None: last page)."""
        if self.done is True:
            operations = operations.exclude(state=Operation.State.RUNNING)
        elif self.done is False:
            operations = operations.filter(state=Operation.State.RUNNING)
        rows = self.rows(operations)
        last = rows[self.page_size - 1] if len(rows) > self.page_size else None
        return rows[: self.page_size], (None if last is None else (last.created_at, last.pk))

    def rows(self, operations: JobQuerySet) -> list[Operation]:
        if self.after is not None:
            created, pk = self.after
            operations = operations.filter(
                Q(created_at__lt=created) | Q(created_at=created, pk__lt=pk)
            )
        return list(operations.order_by("-created_at", "-pk")[: self.page_size + 1])


def parse_filter(raw: str) -> bool | None:
    """Return what `done` must be (None: no filter), or raise INVALID_ARGUMENT."""
    match = DONE_FILTER.fullmatch(raw) if len(raw) <= MAX_PARAMETER_LENGTH else None
    if match is None:
        raise InvalidArgument(
            f"Invalid filter {raw[:100]!r}: jobdesk filters operations on `done` only "
            "(`done=true` or `done=false`)."
        )
    return None if match.group(1) is None else match.group(1) == "true"


def parse_page_size(raw: str | None) -> int:
    """Return the page size: the default for none or 0, at most the maximum (AIP-158)."""
    if raw is None or raw == "":
        return DEFAULT_PAGE_SIZE
    if not PAGE_SIZE.fullmatch(raw):
        raise InvalidArgument(f"Invalid pageSize {raw[:100]!r}: use a whole number, 0 or more.")
    return min(int(raw) or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def page_token(tenant_id: int, filter_text: str, after: tuple[datetime, int]) -> str:
    """Return the signed token of the page after `after` for this tenant and filter."""
    created, pk = after
    payload = {"t": tenant_id, "f": filter_text, "c": created.isoformat(), "i": pk}
    return signing.dumps(payload, salt=PAGE_TOKEN_SALT, compress=True)


def read_page_token(raw: str, tenant_id: int, filter_text: str) -> tuple[datetime, int]:
    """Return where the page of token `raw` starts, or raise INVALID_ARGUMENT."""
    try:
        if len(raw) > MAX_PARAMETER_LENGTH:
            raise signing.BadSignature
        payload = signing.loads(raw, salt=PAGE_TOKEN_SALT)
        created, pk = parse_datetime(payload["c"]), payload["i"]
        bound = payload["t"] == tenant_id and payload["f"] == filter_text
    except (signing.BadSignature, ValueError, KeyError, TypeError):
        raise InvalidArgument("Invalid pageToken: it is not one this list returned.") from None
    if not bound or created is None or not isinstance(pk, int):
        raise InvalidArgument(
            "Invalid pageToken: it was returned for another project or filter; repeat the "
            "call's filter with it."
        )
    return created, pk


def listing(params, tenant_id: int) -> Listing:
    """Return the `ListOperations` call that query `params` describe, or raise INVALID_ARGUMENT."""
    done = parse_filter(params.get("filter", ""))
    page_size = parse_page_size(params.get("pageSize"))
    raw_token = params.get("pageToken", "")
    text = Listing(done, page_size, None).filter_text
    after = read_page_token(raw_token, tenant_id, text) if raw_token else None
    return Listing(done, page_size, after)
