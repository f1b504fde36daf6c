"""Expressions the write services put in a transition's changes."""

from __future__ import annotations

from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest


class AtLeast(Greatest):
    """A field's stored value raised to `floor` if lower (or set to it if null).

    Progress that never goes backwards: reports arriving out of order keep the highest value.
    The timeline reads `floor` to know the value a report asked for without a query.
    """

    def __init__(self, field: str, floor: float) -> None:
        self.floor = floor
        super().__init__(Coalesce(F(field), Value(floor)), Value(floor))
