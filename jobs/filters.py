"""Filter building blocks of the families' list endpoints (django-filter)."""

from __future__ import annotations

from datetime import UTC, datetime

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField

from jobs.api import MAX_ID


class IdFilter(django_filters.Filter):
    """An exact match on a bigint column; anything but an integer in range is a 400.

    Larger numbers would overflow the query instead of matching nothing.
    """

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
