"""Query filters and offset/limit paging for the asset job list (a jobdesk extension)."""

from __future__ import annotations

import re

from django.db.models import Q
from django_filters import rest_framework as filters
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response

from asset_jobs.errors import InvalidParameters
from asset_jobs.models import AssetJob, Instance

State = AssetJob.State
CURRENT = Instance.StatusSpelling.CURRENT

# Either spelling filters any instance's jobs: the current one (RUNNING, SUCCEEDED, FAILED)
# names the same states as the classic one (and FINISHED names Finished).
STATUS_ALIASES = {
    "RUNNING": State.RUNNING,
    "SUCCEEDED": State.SUCCESS,
    "FAILED": State.FAILED,
    "FINISHED": State.FINISHED,
}
NON_NEGATIVE_INTEGER = re.compile(r"[0-9]{1,9}")


class AssetJobFilter(filters.FilterSet):
    status = filters.ChoiceFilter(
        choices=[*State.choices, *((alias, alias) for alias in STATUS_ALIASES)],
        method="filter_status",
    )
    type = filters.ChoiceFilter(choices=AssetJob.Type.choices)

    class Meta:
        model = AssetJob
        fields = ["status", "type"]

    def filter_status(self, queryset, name: str, value: str):
        matches = Q(status=STATUS_ALIASES.get(value, value))
        if value == "SUCCEEDED":
            # An instance with the current spelling shows a downloaded export as SUCCEEDED too.
            matches |= Q(status=State.FINISHED, instance__status_spelling=CURRENT)
        return queryset.filter(matches)


class OffsetLimitPagination(LimitOffsetPagination):
    """`offset` (default 0) and `limit` (1 to 100, default 10); anything else is a 400."""

    default_limit = 10
    max_limit = 100

    def get_limit(self, request) -> int:
        limit = self.integer_parameter(request, self.limit_query_param, self.default_limit)
        if not 1 <= limit <= self.max_limit:
            raise InvalidParameters(f"limit must be from 1 to {self.max_limit}.")
        return limit

    def get_offset(self, request) -> int:
        return self.integer_parameter(request, self.offset_query_param, 0)

    def integer_parameter(self, request, name: str, default: int) -> int:
        """Return a query parameter as a non-negative integer, or raise a 400."""
        raw = request.query_params.get(name)
        if raw is None:
            return default
        if not NON_NEGATIVE_INTEGER.fullmatch(raw):
            raise InvalidParameters(f"{name} must be a non-negative integer.")
        return int(raw)

    def get_paginated_response(self, data) -> Response:
        return Response({"total": self.count, "size": len(data), "jobs": data})
