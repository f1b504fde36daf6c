import pytest
from django.test import RequestFactory
from rest_framework.request import Request

from asset_jobs.family import ASSET_JOB_CANCEL, ASSET_JOB_READ, ASSET_JOB_WRITE
from async_status.family import ASYNC_STATUS_READ
from lro.family import OPERATION_CANCEL, OPERATION_READ
from progress.family import LTI_PROGRESS_SHOW_SCOPE, PROGRESS_CANCEL, PROGRESS_READ, PROGRESS_WRITE
from tenancy.access import Principal, principal_for
from tenancy.authentication import resolve_token
from tenancy.models import Role
from tenancy.permissions import all_permissions
from tenancy.services import membership_grant
from tests.factories import TenantFactory, UserFactory
from webhooks.permissions import READ as WEBHOOK_READ

pytestmark = pytest.mark.django_db


def test_seeded_roles_hold_the_documented_permissions():
    granted = {role.name: role.granted for role in Role.objects.all()}

    assert granted["admin"] == all_permissions()
    assert granted["operations"] == {
        PROGRESS_READ,
        PROGRESS_CANCEL,
        ASYNC_STATUS_READ,
        ASSET_JOB_READ,
        ASSET_JOB_CANCEL,
        OPERATION_READ,
        OPERATION_CANCEL,
        WEBHOOK_READ,
    }
    assert granted["read-only"] == {PROGRESS_READ, ASSET_JOB_READ, OPERATION_READ}


def test_role_named_admin_holds_every_permission_whatever_its_list_says(tenant, make_member):
    Role.objects.filter(name="admin").update(permissions=[PROGRESS_READ])
    principal = Principal(make_member(tenant, "admin"))

    assert all(principal.holds(permission, tenant) for permission in all_permissions())


def test_membership_grants_permissions_in_its_own_tenant_only(tenant, other_tenant, make_member):
    principal = Principal(make_member(tenant, "operations"))

    assert principal.holds(ASYNC_STATUS_READ, tenant)
    assert not principal.holds(ASYNC_STATUS_READ, other_tenant)
    assert principal.tenant_scope(ASYNC_STATUS_READ).ids == {tenant.pk}


def test_user_with_roles_in_two_tenants_gets_each_roles_permissions_there(
    tenant, other_tenant, make_member
):
    user = make_member(tenant, "operations")
    membership_grant(user=user, tenant=other_tenant, role_name="read-only")
    principal = Principal(user)

    assert principal.tenant_scope(PROGRESS_READ).ids == {tenant.pk, other_tenant.pk}
    assert principal.tenant_scope(ASYNC_STATUS_READ).ids == {tenant.pk}
    assert principal.tenant_scope(PROGRESS_WRITE).ids == frozenset()


def test_custom_role_grants_exactly_its_permissions(tenant, make_member):
    principal = Principal(make_member(tenant, "auditor", permissions=[ASYNC_STATUS_READ]))

    assert principal.holds_anywhere(ASYNC_STATUS_READ)
    assert not principal.holds_anywhere(PROGRESS_READ)


def test_inactive_tenant_grants_nothing_to_its_members(tenant, make_member):
    user = make_member(tenant, "admin")
    tenant.is_active = False
    tenant.save()

    assert not Principal(user).holds_anywhere(PROGRESS_READ)


def test_inactive_user_and_anonymous_user_hold_nothing(tenant, make_member):
    user = make_member(tenant, "admin", is_active=False)

    assert not Principal(user).holds_anywhere(PROGRESS_READ)
    assert not Principal(None).holds_anywhere(PROGRESS_READ)


def test_superuser_session_acts_in_every_tenant(tenant, other_tenant):
    principal = Principal(UserFactory(is_superuser=True))

    assert principal.tenant_scope(ASSET_JOB_CANCEL).everything
    assert principal.holds(ASSET_JOB_CANCEL, other_tenant)


def test_token_acts_only_in_its_tenant_even_when_the_user_has_more(
    tenant, other_tenant, make_member, make_token
):
    user = make_member(tenant, "admin")
    membership_grant(user=user, tenant=other_tenant, role_name="admin")
    token = resolve_token(make_token(user, tenant))
    principal = Principal(user, token)

    assert principal.tenant_scope(PROGRESS_READ).ids == {tenant.pk}
    assert not principal.holds(PROGRESS_READ, other_tenant)


def test_superuser_token_is_still_bound_to_its_tenant(tenant, other_tenant, make_token):
    root = UserFactory(is_superuser=True)
    principal = Principal(root, resolve_token(make_token(root, tenant)))

    assert not principal.is_global
    assert principal.holds(ASSET_JOB_WRITE, tenant)
    assert not principal.holds(ASSET_JOB_WRITE, other_tenant)


@pytest.mark.parametrize(
    ("scopes", "may_show_lti"),
    [
        (None, False),
        ([PROGRESS_READ], False),
        ([LTI_PROGRESS_SHOW_SCOPE, PROGRESS_READ], True),
    ],
)
def test_lti_scope_must_be_explicit_on_the_token(
    tenant, make_member, make_token, scopes, may_show_lti
):
    user = make_member(tenant, "read-only")
    principal = Principal(user, resolve_token(make_token(user, tenant, scopes=scopes)))

    assert principal.has_token_scope(LTI_PROGRESS_SHOW_SCOPE) is may_show_lti


def test_session_principal_has_no_token_scopes(tenant, make_member):
    assert not Principal(make_member(tenant, "admin")).has_token_scope(LTI_PROGRESS_SHOW_SCOPE)


def test_grants_are_loaded_once_per_principal(tenant, make_member, django_assert_num_queries):
    principal = Principal(make_member(tenant, "operations"))

    with django_assert_num_queries(1):
        for permission in all_permissions():
            principal.holds_anywhere(permission)


def test_principal_is_built_once_per_request(tenant, make_member):
    request = Request(RequestFactory().get("/"))
    request.user = make_member(tenant)

    assert principal_for(request) is principal_for(request)


def test_unknown_role_cannot_be_granted(tenant):
    with pytest.raises(Exception, match="No role named"):
        membership_grant(user=UserFactory(), tenant=tenant, role_name="wizard")


def test_every_tenant_gets_a_distinct_project_id():
    first, second = TenantFactory(), TenantFactory()

    assert len(first.project_id) == 32
    assert first.project_id != second.project_id
