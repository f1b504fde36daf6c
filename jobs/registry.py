"""The job family registry: every installed family, by name and by job model.

Each family app declares a `JobFamily` subclass in its `family.py` and registers one
instance of it (`family = register(ProgressFamily())`); the `jobs` app imports every
installed app's `family` module when Django starts (as the admin imports `admin.py`), so the
registry is complete once Django is ready.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from django.apps import apps
from django.db.models import Model

from tenancy.permissions import catalogue

if TYPE_CHECKING:
    from jobs.family import JobFamily


class FamilyRegistry:
    """The registered job families, in the order of their apps in INSTALLED_APPS."""

    def __init__(self) -> None:
        self._by_name: dict[str, JobFamily] = {}
        self._by_model: dict[type[Model], JobFamily] = {}

    def register(self, family: JobFamily) -> None:
        """Add `family`, and its permissions and token scopes to the catalogue."""
        known = self._by_name.get(family.name)
        if known is not None and type(known) is not type(family):
            raise ValueError(f"Two job families are called {family.name!r}.")
        self._by_name[family.name] = family
        self._by_model[family.model] = family
        # Registration order depends on what imported a family module first: sort by app.
        order = {config.label: index for index, config in enumerate(apps.get_app_configs())}
        self._by_name = dict(
            sorted(self._by_name.items(), key=lambda item: order[item[1].model._meta.app_label])
        )
        for code, label in family.permission_labels().items():
            catalogue.register(code, label)
        for scope in family.token_scopes:
            catalogue.register_scope(scope)

    def __getitem__(self, name: str) -> JobFamily:
        try:
            return self._by_name[name]
        except KeyError:
            raise LookupError(f"No job family {name!r}.") from None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[JobFamily]:
        return iter(list(self._by_name.values()))

    def __len__(self) -> int:
        return len(self._by_name)

    def names(self) -> list[str]:
        return list(self._by_name)

    def for_model(self, model: type[Model]) -> JobFamily:
        """Return the family whose job model is `model`."""
        try:
            return self._by_model[model]
        except KeyError:
            raise LookupError(f"{model.__name__} is not a registered job family's model.") from None


families = FamilyRegistry()


def register(family: JobFamily) -> JobFamily:
    """Register `family` and return it: `family = register(ProgressFamily())` in `family.py`."""
    families.register(family)
    return family
