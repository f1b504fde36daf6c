"""Filters and paging of the async status list, in Traffic Ops' naming and with its texts.

A bad parameter is a 400 alert worded as Traffic Ops words its own: `<name> parameter must
be ...`.
"""

from __future__ import annotations

from datetime import UTC, datetime

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from async_status.errors import BadRequest
from async_status.models import AsyncStatus

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
# Bounds `offset` and `page` so that offset arithmetic stays far inside SQL's BIGINT.
MAX_INTEGER = 2**31 - 1
# Longer than any integer or time jobdesk accepts; longer values are junk, not parsed.
MAX_VALUE_LENGTH = 40


class Rfc3339Field(forms.Field):
    """A time in RFC 3339, in UTC; a time without an offset is UTC."""

    default_error_messages = {"invalid": "must be an RFC 3339 time, e.g. 2021-02-18T17:13:56Z"}

    def to_python(self, value: str | None) -> datetime | None:
        if value is None:
            return None
        try:
            parsed = parse_datetime(value) if len(value) <= MAX_VALUE_LENGTH else None
            if parsed is not None:
                parsed = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
        except (ValueError, OverflowError):
            parsed = None
        if parsed is None:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return parsed


class Rfc3339Filter(django_filters.Filter):
    field_class = Rfc3339Field


class AsyncStatusFilter(django_filters.FilterSet):
    """`status`, and `startTimeFrom` (inclusive) to `startTimeTo` (exclusive)."""

    status = django_filters.ChoiceFilter(
        choices=AsyncStatus.State.choices,
        error_messages={"invalid_choice": "must be one of PENDING, SUCCEEDED, FAILED"},
    )
    startTimeFrom = Rfc3339Filter(field_name="start_time", lookup_expr="gte")
    startTimeTo = Rfc3339Filter(field_name="start_time", lookup_expr="lt")

    class Meta:
        model = AsyncStatus
        fields = ["status", "startTimeFrom", "startTimeTo"]


class TrafficOpsFilterBackend(DjangoFilterBackend):
    """django-filter, answering a bad parameter as `<name> parameter <problem>`."""

    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            name, problems = next(iter(filterset.errors.items()))
            raise BadRequest(f"{name} parameter {problems[0]}")
        return filterset.qs


def integer_parameter(params, name: str, *, minimum: int = 1) -> int | None:
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


class TrafficOpsPagination(BasePagination):
    """`limit` (default 100, at most 1000), and `offset` or `page`: `offset` wins, as in
    Traffic Ops. The page is the body's `response` array; no count is made."""

    def paginate_queryset(self, queryset, request, view=None) -> list:
        params = request.query_params
        limit = integer_parameter(params, "limit") or DEFAULT_LIMIT
        if limit > MAX_LIMIT:
            raise BadRequest(f"limit parameter must be at most {MAX_LIMIT}")
        offset = integer_parameter(params, "offset", minimum=0)
        page = integer_parameter(params, "page")
        if offset is None:
            offset = (page - 1) * limit if page else 0
        return list(queryset[offset : offset + limit])

    def get_paginated_response(self, data) -> Response:
        return Response({"response": data})

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return schema
