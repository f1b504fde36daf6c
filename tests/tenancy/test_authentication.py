from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.request import Request

from async_status.family import ASYNC_STATUS_READ
from progress.family import PROGRESS_READ
from tenancy.authentication import (
    BearerTokenAuthentication,
    TokenRejected,
    XAuthTokenAuthentication,
    digest_key,
    resolve_token,
)
from tenancy.models import ApiToken
from tenancy.permissions import all_permissions
from tenancy.services import membership_revoke, token_revoke
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def drf_request(**headers) -> Request:
    return Request(RequestFactory().get("/", **headers))


def test_issued_key_is_stored_only_as_its_digest(tenant, make_member, make_token):
    raw_key = make_token(make_member(tenant), tenant)

    token = ApiToken.objects.get()
    assert token.digest == digest_key(raw_key)
    assert raw_key.startswith(token.prefix)
    assert len(token.prefix) < len(raw_key) / 3
    stored = [str(value) for value in ApiToken.objects.values_list().get()]
    assert not any(raw_key in value for value in stored)


@pytest.mark.parametrize(
    ("authenticator", "header"),
    [
        (BearerTokenAuthentication, "HTTP_AUTHORIZATION"),
        (XAuthTokenAuthentication, "HTTP_X_AUTH_TOKEN"),
    ],
)
def test_both_token_headers_authenticate_the_owner(
    tenant, make_member, make_token, authenticator, header
):
    user = make_member(tenant)
    raw_key = make_token(user, tenant)
    value = f"Bearer {raw_key}" if header == "HTTP_AUTHORIZATION" else raw_key

    authenticated_user, token = authenticator().authenticate(drf_request(**{header: value}))

    assert authenticated_user == user
    assert token.tenant == tenant


def test_bearer_scheme_is_case_insensitive_and_other_schemes_are_ignored(
    tenant, make_member, make_token
):
    raw_key = make_token(make_member(tenant), tenant)
    auth = BearerTokenAuthentication()

    assert auth.authenticate(drf_request(HTTP_AUTHORIZATION=f"bearer {raw_key}")) is not None
    assert auth.authenticate(drf_request(HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")) is None
    assert auth.authenticate(drf_request()) is None


@pytest.mark.parametrize("junk", ["", "nope", "x" * 10_000, "jd_\x00\x01"])
def test_unknown_or_junk_keys_are_rejected_as_invalid(junk):
    with pytest.raises(TokenRejected) as caught:
        resolve_token(junk)
    assert caught.value.get_codes() == "invalid_token"


def test_expired_token_is_rejected_as_expired(tenant, make_member, make_token):
    raw_key = make_token(
        make_member(tenant), tenant, expires_at=timezone.now() + timedelta(hours=1)
    )
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    with pytest.raises(TokenRejected) as caught:
        resolve_token(raw_key)
    assert caught.value.get_codes() == "expired_token"


def test_revoked_token_is_rejected_as_revoked(tenant, make_member, make_token):
    raw_key = make_token(make_member(tenant), tenant)
    token_revoke(token=ApiToken.objects.get())

    with pytest.raises(TokenRejected) as caught:
        resolve_token(raw_key)
    assert caught.value.get_codes() == "revoked_token"


@pytest.mark.parametrize("deactivate", ["user", "tenant"])
def test_token_of_inactive_user_or_tenant_is_rejected(tenant, make_member, make_token, deactivate):
    user = make_member(tenant)
    raw_key = make_token(user, tenant)
    target = user if deactivate == "user" else tenant
    target.is_active = False
    target.save()

    with pytest.raises(TokenRejected):
        resolve_token(raw_key)


def test_resolving_a_token_costs_one_query(
    tenant, make_member, make_token, django_assert_num_queries
):
    raw_key = make_token(make_member(tenant, "operations"), tenant)

    with django_assert_num_queries(1):
        token = resolve_token(raw_key)
        permissions = token.effective_permissions
        _ = (token.user.username, token.tenant.slug)

    assert ASYNC_STATUS_READ in permissions


def test_authenticating_writes_last_used_at_at_most_once_a_minute(
    tenant, make_member, make_token, django_assert_num_queries
):
    raw_key = make_token(make_member(tenant), tenant)
    request = {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"}
    auth = BearerTokenAuthentication()

    with django_assert_num_queries(2):  # look-up, then the first last_used_at write
        auth.authenticate(drf_request(**request))
    first_use = ApiToken.objects.get().last_used_at
    with django_assert_num_queries(0):  # cached, and used a moment ago: nothing to do
        auth.authenticate(drf_request(**request))

    assert first_use is not None
    assert ApiToken.objects.get().last_used_at == first_use


def test_a_cached_token_still_records_its_use_once_the_interval_has_passed(
    tenant, make_member, make_token, django_assert_num_queries, monkeypatch
):
    raw_key = make_token(make_member(tenant), tenant)
    request = {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"}
    auth = BearerTokenAuthentication()
    auth.authenticate(drf_request(**request))
    later = timezone.now() + timedelta(minutes=2)
    monkeypatch.setattr("tenancy.authentication.timezone.now", lambda: later)

    with django_assert_num_queries(1):  # the last_used_at write; the token itself is cached
        auth.authenticate(drf_request(**request))

    assert ApiToken.objects.get().last_used_at == later


def test_admin_role_holds_every_permission_even_with_an_empty_list(tenant, make_member, make_token):
    raw_key = make_token(make_member(tenant, "admin"), tenant)

    assert resolve_token(raw_key).effective_permissions == all_permissions()


def test_scopes_narrow_the_role_and_never_widen_it(tenant, make_member, make_token):
    reader = make_member(tenant, "read-only")
    raw_key = make_token(reader, tenant, scopes=[PROGRESS_READ, ASYNC_STATUS_READ])

    # read-only lacks ASYNC-STATUS:READ: the scope cannot add it; ASSET-JOB:READ is scoped out.
    assert resolve_token(raw_key).effective_permissions == {PROGRESS_READ}


def test_token_grants_nothing_once_its_membership_is_gone(tenant, make_member, make_token):
    user = make_member(tenant, "admin")
    raw_key = make_token(user, tenant)
    membership_revoke(user=user, tenant=tenant)

    assert resolve_token(raw_key).effective_permissions == frozenset()


def test_superuser_token_holds_everything_in_its_tenant_only(tenant, other_tenant, make_token):
    root = UserFactory(is_superuser=True, is_staff=True)
    raw_key = make_token(root, tenant)

    token = resolve_token(raw_key)
    assert token.effective_permissions == all_permissions()
    assert token.tenant_id == tenant.pk
