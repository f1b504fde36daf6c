"""Filters of the progress list (`GET /api/v1/progress`)."""

from __future__ import annotations

import django_filters
from django import forms

from progress.models import Progress

# Ids are PostgreSQL bigints; larger numbers would overflow the query instead of matching nothing.
MAX_ID = 2**63 - 1


class IdFilter(django_filters.Filter):
    """An exact match on a bigint column; anything but an integer in range is a 400."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class ProgressFilter(django_filters.FilterSet):
    """Narrow the visible jobs; `created_after` is inclusive, `created_before` exclusive."""

    workflow_state = django_filters.MultipleChoiceFilter(choices=Progress.State.choices)
    tag = django_filters.CharFilter()
    context_type = django_filters.CharFilter()
    context_id = IdFilter()
    user_id = IdFilter()
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

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
