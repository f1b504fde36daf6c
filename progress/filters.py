"""Filters of the progress list (`GET /api/v1/progress`)."""

from __future__ import annotations

from datetime import UTC, datetime

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField

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


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 time, in UTC: PostgreSQL refuses offsets beyond ±15:59 (`+23:36`)."""

    def to_python(self, value) -> datetime | None:
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise ValidationError("Enter a time between the years 1 and 9999 in UTC.") from None


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


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
