"""`/api/webhooks/endpoints`: tenant-scoped, permission-checked, validated, secret shown once."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from tenancy import secrets as stored_secrets
from webhooks.models import Endpoint

pytestmark = pytest.mark.django_db

LIST = "/api/webhooks/endpoints"
PUBLIC_URL = "https://93.184.215.14/hooks"  # an address, so no name is resolved
BODY = {"url": PUBLIC_URL, "families": ["progress", "lro"], "events": ["finished", "failed"]}


def detail(endpoint) -> str:
    return f"{LIST}/{endpoint.pk}"


@pytest.fixture(autouse=True)
def public_addresses_only(settings):
    settings.JOBDESK_WEBHOOKS_ALLOW_PRIVATE = False


@pytest.fixture
def admin_headers(bearer, tenant) -> dict:
    return bearer(tenant, "admin")


def test_an_admin_registers_an_endpoint_and_sees_its_secret_once(client, admin_headers, tenant):
    created = client.post(LIST, BODY, content_type="application/json", **admin_headers)

    assert created.status_code == HTTPStatus.CREATED
    body = created.json()
    endpoint = Endpoint.objects.for_tenant(tenant).get(pk=body["id"])
    assert body["secret"].startswith("whsec_")
    assert stored_secrets.decrypt(endpoint.encrypted_secret) == body["secret"]
    assert body["secret"] not in endpoint.encrypted_secret
    assert body["secret_prefix"] == body["secret"][:12]
    assert (body["url"], body["families"], body["events"]) == (
        PUBLIC_URL,
        ["progress", "lro"],
        ["finished", "failed"],
    )
    assert body["is_active"] is True
    read = client.get(detail(endpoint), **admin_headers).json()
    assert "secret" not in read
    assert client.get(LIST, **admin_headers).json() == [read]


def test_operations_may_read_endpoints_but_not_change_them(client, bearer, tenant, make_endpoint):
    endpoint, _ = make_endpoint(tenant, PUBLIC_URL)
    headers = bearer(tenant, "operations")

    assert client.get(LIST, **headers).status_code == HTTPStatus.OK
    assert client.get(detail(endpoint), **headers).status_code == HTTPStatus.OK
    refused = client.post(LIST, BODY, content_type="application/json", **headers)
    assert refused.status_code == HTTPStatus.FORBIDDEN
    assert client.delete(detail(endpoint), **headers).status_code == HTTPStatus.FORBIDDEN
    assert Endpoint.objects.for_tenant(tenant).count() == 1


def test_a_reader_without_the_permission_is_refused(client, bearer, tenant):
    assert client.get(LIST, **bearer(tenant, "read-only")).status_code == HTTPStatus.FORBIDDEN


def test_without_credentials_it_is_401(client):
    assert client.get(LIST).status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.parametrize("method", ["get", "patch", "put", "delete"])
def test_another_tenants_endpoint_is_404_and_left_unchanged(
    client, admin_headers, other_tenant, make_endpoint, method
):
    endpoint, _ = make_endpoint(other_tenant, PUBLIC_URL)

    answer = getattr(client, method)(
        detail(endpoint), {**BODY, "is_active": False}, content_type="application/json",
        **admin_headers,
    )  # fmt: skip

    assert answer.status_code == HTTPStatus.NOT_FOUND
    assert answer.json() == {"detail": "No such webhook endpoint."}
    assert Endpoint.objects.for_tenant(other_tenant).get().is_active is True


def test_lists_hold_only_the_tokens_tenants_endpoints(
    client, admin_headers, tenant, other_tenant, make_endpoint
):
    mine, _ = make_endpoint(tenant, PUBLIC_URL)
    make_endpoint(other_tenant, PUBLIC_URL)

    assert [each["id"] for each in client.get(LIST, **admin_headers).json()] == [mine.pk]


def test_an_endpoint_is_changed_and_turned_on_again_clearing_why_it_was_disabled(
    client, admin_headers, tenant, make_endpoint
):
    endpoint, _ = make_endpoint(tenant, PUBLIC_URL)
    Endpoint.objects.for_tenant(tenant).update(
        is_active=False, disabled_reason="Disabled after 5 deliveries", consecutive_failures=5
    )

    answer = client.patch(
        detail(endpoint), {"is_active": True, "events": ["progress"]},
        content_type="application/json", **admin_headers,
    )  # fmt: skip

    assert answer.status_code == HTTPStatus.OK
    assert answer.json()["disabled_reason"] == ""
    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.events, endpoint.consecutive_failures) == (
        True,
        ["progress"],
        0,
    )


def test_an_endpoint_is_removed(client, admin_headers, tenant, make_endpoint):
    endpoint, _ = make_endpoint(tenant, PUBLIC_URL)

    assert client.delete(detail(endpoint), **admin_headers).status_code == HTTPStatus.NO_CONTENT
    assert not Endpoint.objects.for_tenant(tenant).exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"url": "https://127.0.0.1/hooks"}, "url"),
        ({"url": "https://10.1.2.3/hooks"}, "url"),
        ({"url": "https://169.254.169.254/latest/meta-data"}, "url"),
        ({"url": "https://[::1]/hooks"}, "url"),
        ({"url": "https://user:pw@93.184.215.14/hooks"}, "url"),
        ({"url": "ftp://93.184.215.14/hooks"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"families": ["nope"]}, "families"),
        ({"families": []}, "families"),
        ({"families": "progress"}, "families"),
        ({"events": ["changed"]}, "events"),
        ({"events": []}, "events"),
        ({"description": 7}, "description"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_registers_nothing(
    client, admin_headers, tenant, changes, field
):
    answer = client.post(
        LIST, {**BODY, **changes}, content_type="application/json", **admin_headers
    )

    assert answer.status_code == HTTPStatus.BAD_REQUEST
    assert field in answer.json()["fields"]
    assert answer.json()["detail"].startswith(f"{field}: ")
    assert not Endpoint.objects.for_tenant(tenant).exists()


def test_plain_http_is_refused_outside_debug(client, admin_headers, settings):
    settings.DEBUG = False
    answer = client.post(
        LIST, {**BODY, "url": "http://93.184.215.14/hooks"}, content_type="application/json",
        **admin_headers,
    )  # fmt: skip

    assert answer.status_code == HTTPStatus.BAD_REQUEST
    assert answer.json() == {
        "detail": "url: Use an https:// URL.",
        "fields": {"url": ["Use an https:// URL."]},
    }


def test_plain_http_to_loopback_is_accepted_in_debug_when_the_setting_allows_it(
    client, admin_headers, settings
):
    settings.DEBUG = True
    settings.JOBDESK_WEBHOOKS_ALLOW_PRIVATE = True
    answer = client.post(
        LIST, {**BODY, "url": "http://127.0.0.1:18599/hooks"}, content_type="application/json",
        **admin_headers,
    )  # fmt: skip

    assert answer.status_code == HTTPStatus.CREATED


@pytest.mark.parametrize("junk", ["abc", "0", "99999999999999999999", "1.5"])
def test_a_junk_id_is_404(client, admin_headers, junk):
    assert client.get(f"{LIST}/{junk}", **admin_headers).status_code == HTTPStatus.NOT_FOUND


def test_a_session_with_several_tenants_must_create_with_a_token(
    client, make_member, tenant, other_tenant
):
    from tenancy.services import membership_grant

    user = make_member(tenant, "admin")
    membership_grant(user=user, tenant=other_tenant, role_name="admin")
    client.force_login(user)

    answer = client.post(LIST, BODY, content_type="application/json")

    assert answer.status_code == HTTPStatus.BAD_REQUEST
    assert not Endpoint.objects.across_tenants().exists()


def test_the_seeded_roles_hold_the_webhook_grants():
    from tenancy.models import Role
    from webhooks.permissions import SEEDED_ROLE_GRANTS

    for role_name, granted in SEEDED_ROLE_GRANTS.items():
        assert set(granted) <= set(Role.objects.get(name=role_name).permissions)
