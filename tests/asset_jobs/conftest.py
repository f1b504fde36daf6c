"""Fixtures for the ROMA asset job tests: instances in two tenants, ROMA tokens, temp media."""

from collections.abc import Callable

import pytest
from django.utils import timezone

from tenancy.models import ApiToken
from tests.asset_jobs.factories import InstanceFactory


@pytest.fixture
def instance(tenant):
    return InstanceFactory(tenant=tenant, instance_id="roma-acme-1")


@pytest.fixture
def other_instance(other_tenant):
    return InstanceFactory(tenant=other_tenant, instance_id="roma-globex-1")


@pytest.fixture
def x_auth(make_member, make_token) -> Callable:
    """Return a function giving `X-Auth-Token` headers for a fresh member of `tenant`."""

    def make(tenant, role_name: str = "read-only", *, scopes=None, **member_kwargs) -> dict:
        user = make_member(tenant, role_name, **member_kwargs)
        raw_key = make_token(user, tenant, scopes=scopes)
        # Already "used" just now, so reads make no last-used write (query counts stay exact).
        ApiToken.objects.filter(user=user).update(last_used_at=timezone.now())
        return {"HTTP_X_AUTH_TOKEN": raw_key}

    return make


@pytest.fixture
def login(client) -> Callable:
    """Return a function logging `user` into the Django test client and returning the client."""

    def log_in(user):
        client.force_login(user)
        return client

    return log_in
