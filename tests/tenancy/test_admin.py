import re
from http import HTTPStatus

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from async_status.family import ASYNC_STATUS_READ
from progress.family import PROGRESS_READ
from tenancy.authentication import resolve_token
from tenancy.models import ApiToken, Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def add_token(client, user, tenant, **extra):
    return client.post(
        reverse("admin:tenancy_apitoken_add"),
        {"user": user.pk, "tenant": tenant.pk, "name": "deploy bot", **extra},
    )


def test_token_created_in_the_admin_shows_its_key_exactly_once(
    superuser_client, tenant, make_member
):
    user = make_member(tenant, "operations")

    response = add_token(superuser_client, user, tenant, scopes=[PROGRESS_READ])

    assert response.status_code == HTTPStatus.OK
    assert "no-store" in response["Cache-Control"]
    raw_key = re.search(r'<code id="raw-key"[^>]*>([^<]+)</code>', response.text).group(1)
    token = ApiToken.objects.get()
    assert resolve_token(raw_key).pk == token.pk
    assert token.scopes == [PROGRESS_READ]
    change_page = superuser_client.get(reverse("admin:tenancy_apitoken_change", args=[token.pk]))
    assert change_page.status_code == HTTPStatus.OK
    assert raw_key not in change_page.text
    assert token.prefix in change_page.text


def test_token_without_scopes_gets_the_role_and_no_narrowing(superuser_client, tenant, make_member):
    add_token(superuser_client, make_member(tenant, "operations"), tenant)

    assert ApiToken.objects.get().scopes is None


def test_admin_refuses_a_token_for_a_user_without_membership(superuser_client, tenant):
    response = add_token(superuser_client, UserFactory(), tenant)

    assert response.status_code == HTTPStatus.OK
    assert "has no membership" in response.text
    assert not ApiToken.objects.exists()


def test_revoke_action_revokes_and_records_history(
    superuser_client, tenant, make_member, make_token
):
    raw_key = make_token(make_member(tenant), tenant)
    token = ApiToken.objects.get()

    superuser_client.post(
        reverse("admin:tenancy_apitoken_changelist"),
        {"action": "revoke_selected", "_selected_action": [token.pk]},
    )

    token.refresh_from_db()
    assert token.is_revoked
    assert LogEntry.objects.get().change_message == "Revoked."
    with pytest.raises(Exception, match="Revoked"):
        resolve_token(raw_key)


def test_role_form_accepts_only_catalogue_permissions(superuser_client):
    url = reverse("admin:tenancy_role_add")

    bad = superuser_client.post(url, {"name": "auditor", "permissions": ["ROOT:ALL"]})
    good = superuser_client.post(url, {"name": "auditor", "permissions": [ASYNC_STATUS_READ]})

    assert bad.status_code == HTTPStatus.OK
    assert good.status_code == HTTPStatus.FOUND
    assert Role.objects.get(name="auditor").permissions == [ASYNC_STATUS_READ]


def test_tenant_staff_without_django_permissions_cannot_manage_tenancy(client, tenant, make_member):
    client.force_login(make_member(tenant, "admin", is_staff=True))

    for name in ["tenant", "role", "membership", "apitoken"]:
        response = client.get(reverse(f"admin:tenancy_{name}_changelist"))
        assert response.status_code == HTTPStatus.FORBIDDEN
