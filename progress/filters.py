"""Filters of the progress list (`GET /api/v1/progress`)."""

from __future__ import annotations

import django_filters

from jobs.filters import IdFilter, UtcIsoDateTimeFilter
from progress.models import Progress


class ProgressFilter(django_filters.FilterSet):
    """Narrow the visible jobs; `created_after` is inclusive, `created_before` exclusive."""

    workflow_state = django_filters.MultipleChoiceFilter(choices=Progress.State.choices)
    tag = django_filters.CharFilter()
    context_type = django_filters.CharFilter()
    context_id = IdFilter()
    user_id = IdFilter()
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Progress
        fields = [
            "workflow_state",
            "tag",
            "context_type",
            "context_id",
            "user_id",
            "created_after",
            "created_before",
        ]
