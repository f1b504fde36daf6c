"""Fixtures for the Traffic Ops async status tests."""

from collections.abc import Callable

import pytest
from django.core.cache import cache

from async_status.models import AsyncStatus
from async_status.services import async_status_finish
from tests.async_status.factories import AsyncStatusFactory


@pytest.fixture(autouse=True)
def _empty_cache():
    """Start every test with no login failures counted."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def make_job(db) -> Callable:
    """Return a function making a job of `tenant` in `status` (PENDING, SUCCEEDED, FAILED)."""

    def make(tenant, status: str = "PENDING", **fields) -> AsyncStatus:
        job = AsyncStatusFactory(tenant=tenant, **fields)
        if status != AsyncStatus.State.PENDING:
            async_status_finish(
                job, succeeded=status == AsyncStatus.State.SUCCEEDED, message=f"Job {status}."
            )
        return job

    return make


@pytest.fixture
def job(tenant, make_job) -> AsyncStatus:
    return make_job(tenant)


@pytest.fixture
def ops_headers(tenant, bearer) -> dict:
    """Bearer headers of an `operations` member of `tenant`."""
    return bearer(tenant, "operations")
