"""Fixtures for the Traffic Ops async status tests."""

from collections.abc import Callable

import pytest

from async_status.models import AsyncStatus
from tests.async_status.factories import make_async_status


@pytest.fixture
def make_job(db) -> Callable:
    """Return a function making a job of `tenant` in `status` (PENDING, SUCCEEDED, FAILED)."""

    def make(tenant, status: str = "PENDING", **fields) -> AsyncStatus:
        return make_async_status(tenant, status, **fields)

    return make


@pytest.fixture
def job(tenant, make_job) -> AsyncStatus:
    return make_job(tenant)


@pytest.fixture
def ops_headers(tenant, bearer) -> dict:
    """Bearer headers of an `operations` member of `tenant`."""
    return bearer(tenant, "operations")
