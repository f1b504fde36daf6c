"""Query parameters of the async status list, in Traffic Ops' naming and with its error texts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.http import QueryDict
from django.utils.dateparse import parse_datetime

from async_status.errors import BadRequest
from async_status.models import AsyncStatus, AsyncStatusQuerySet

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
# Bounds `offset` and `page` so that offset arithmetic stays far inside SQL's BIGINT.
MAX_INTEGER = 2**31 - 1
# Longer than any integer or time jobdesk accepts; longer values are junk, not parsed.
MAX_VALUE_LENGTH = 40


def positive_int(params: QueryDict, name: str, *, minimum: int = 1) -> int | None:
    """Return the integer parameter `name` (None if absent), at least `minimum`."""
    raw = params.get(name)
    if raw is None:
        return None
    if len(raw) > MAX_VALUE_LENGTH or not raw.isascii() or not raw.isdigit():
        value = None
    else:
        value = int(raw)
    if value is None or value < minimum:
        kind = "a positive integer" if minimum == 1 else "a non-negative integer"
        raise BadRequest(f"{name} parameter must be {kind}")
    if value > MAX_INTEGER:
        raise BadRequest(f"{name} parameter must be at most {MAX_INTEGER}")
    return value


def rfc3339_param(params: QueryDict, name: str) -> datetime | None:
    """Return the time parameter `name` in UTC (None if absent); no offset means UTC."""
    raw = params.get(name)
    if raw is None:
        return None
    try:
        value = parse_datetime(raw) if len(raw) <= MAX_VALUE_LENGTH else None
        if value is not None:
            value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        value = None
    if value is None:
        raise BadRequest(f"{name} parameter must be an RFC 3339 time, e.g. 2021-02-18T17:13:56Z")
    return value


@dataclass(frozen=True)
class ListParams:
    """What a list request asked for: filters and one page."""

    status: str | None
    start_time_from: datetime | None
    start_time_to: datetime | None
    limit: int
    offset: int

    @classmethod
    def from_query(cls, params: QueryDict) -> ListParams:
        """Parse and validate the list's query parameters (400 alerts on bad values)."""
        status = params.get("status")
        if status is not None and status not in AsyncStatus.State.values:
            raise BadRequest("status parameter must be one of PENDING, SUCCEEDED, FAILED")
        limit = positive_int(params, "limit") or DEFAULT_LIMIT
        if limit > MAX_LIMIT:
            raise BadRequest(f"limit parameter must be at most {MAX_LIMIT}")
        # As in Traffic Ops, `offset` wins over `page` when both are given.
        offset = positive_int(params, "offset", minimum=0)
        page = positive_int(params, "page")
        if offset is None:
            offset = (page - 1) * limit if page else 0
        return cls(
            status=status,
            start_time_from=rfc3339_param(params, "startTimeFrom"),
            start_time_to=rfc3339_param(params, "startTimeTo"),
            limit=limit,
            offset=offset,
        )

    def apply(self, queryset: AsyncStatusQuerySet) -> AsyncStatusQuerySet:
        """Return the requested page of `queryset`, newest first."""
        if self.status is not None:
            queryset = queryset.filter(status=self.status)
        if self.start_time_from is not None:
            queryset = queryset.filter(start_time__gte=self.start_time_from)
        if self.start_time_to is not None:
            queryset = queryset.filter(start_time__lt=self.start_time_to)
        return queryset.newest_first()[self.offset : self.offset + self.limit]
