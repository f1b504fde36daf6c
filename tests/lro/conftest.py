"""Fixtures for the Google long-running operation tests."""

from collections.abc import Callable

import pytest

from lro.models import Operation
from tests.lro.factories import make_operation


@pytest.fixture
def make_op(db) -> Callable:
    """Return a function making an operation of `tenant` in `state`, with `metadata`."""
    return make_operation


@pytest.fixture
def op(tenant, make_op) -> Operation:
    return make_op(tenant)


@pytest.fixture
def theirs(other_tenant, make_op) -> Operation:
    """A running operation of another tenant."""
    return make_op(other_tenant)


@pytest.fixture
def ops_headers(tenant, bearer) -> dict:
    """Bearer headers of an `operations` member of `tenant` (read and cancel)."""
    return bearer(tenant, "operations")


@pytest.fixture
def admin_headers(tenant, bearer) -> dict:
    """Bearer headers of an `admin` of `tenant` (everything, producers' writes included)."""
    return bearer(tenant, "admin")
