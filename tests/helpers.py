"""Helpers shared by the tests of every app."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import TypeVar

from django.apps import apps
from django.db import connection

from jobs.registry import families
from jobs.roles import grant
from tenancy.models import Role
from webhooks import permissions as webhook_permissions

T = TypeVar("T")


def run_together(*calls: Callable[[], T]) -> list[T | BaseException]:
    """Run `calls` in threads released at the same moment; return what each returned or raised.

    Each thread has its own database connection and closes it when done: on PostgreSQL the
    calls really race inside the database.
    """
    barrier = threading.Barrier(len(calls))
    results: list[T | BaseException] = [None] * len(calls)

    def run(index: int, call: Callable[[], T]) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except BaseException as error:  # reported to the test thread
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def errors_of(results: list) -> list[BaseException]:
    """Return the exceptions among `run_together`'s results."""
    return [result for result in results if isinstance(result, BaseException)]


def reseed_roles() -> None:
    """Seed the default roles as the migrations did (a transactional test flushes them)."""
    importlib.import_module("tenancy.migrations.0002_seed_roles").seed_roles(apps, None)
    for family in families:
        grant(Role, family.seeded_role_grants())
    grant(Role, webhook_permissions.SEEDED_ROLE_GRANTS)
