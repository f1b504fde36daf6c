"""The admin: endpoints registered with their secret shown once, and the delivery log."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.urls import reverse

from tenancy import secrets as stored_secrets
from tests.jobs.drivers import drivers
from tests.webhooks.conftest import Answer, run_due_attempts
from webhooks.models import Delivery, Endpoint

pytestmark = pytest.mark.django_db

PUBLIC_URL = "https://93.184.215.14/hooks"


@pytest.fixture
def staff(client, make_member, tenant):
    client.force_login(make_member(tenant, "admin", is_staff=True))
    return client


def test_a_staff_admin_registers_an_endpoint_and_sees_its_secret_once(staff, tenant, settings):
    settings.JOBDESK_WEBHOOKS_ALLOW_PRIVATE = False
    answer = staff.post(
        reverse("admin:webhooks_endpoint_add"),
        {
            "tenant": tenant.pk,
            "url": PUBLIC_URL,
            "description": "billing",
            "families": ["progress", "async_status"],
            "events": ["finished", "failed"],
            "is_active": "on",
        },
    )

    assert answer.status_code == HTTPStatus.OK
    endpoint = Endpoint.objects.for_tenant(tenant).get()
    secret = stored_secrets.decrypt(endpoint.encrypted_secret)
    assert "no-store" in answer["Cache-Control"]
    assert secret in answer.content.decode()
    assert endpoint.families == ["progress", "async_status"]
    page = staff.get(reverse("admin:webhooks_endpoint_change", args=[endpoint.pk]))
    assert endpoint.secret_prefix in page.content.decode()
    assert secret not in page.content.decode()


def test_the_admin_refuses_a_private_address(staff, tenant, settings):
    settings.JOBDESK_WEBHOOKS_ALLOW_PRIVATE = False
    answer = staff.post(
        reverse("admin:webhooks_endpoint_add"),
        {
            "tenant": tenant.pk,
            "url": "https://10.0.0.1/",
            "families": ["lro"],
            "events": ["failed"],
        },
    )

    assert answer.status_code == HTTPStatus.OK
    assert "public addresses only" in answer.content.decode()
    assert not Endpoint.objects.across_tenants().exists()


def test_a_disabled_endpoint_says_why_in_the_admin(staff, tenant, make_endpoint):
    endpoint, _ = make_endpoint(tenant, PUBLIC_URL)
    Endpoint.objects.for_tenant(tenant).update(
        is_active=False, disabled_reason="Disabled after 5 deliveries in a row failed."
    )

    changelist = staff.get(reverse("admin:webhooks_endpoint_changelist"))
    page = staff.get(reverse("admin:webhooks_endpoint_change", args=[endpoint.pk]))

    assert "1 endpoint(s) were disabled" in changelist.content.decode()
    assert "Disabled after 5 deliveries in a row failed." in page.content.decode()


def test_the_delivery_log_shows_each_attempt(
    staff, tenant, make_endpoint, receiver, django_capture_on_commit_callbacks
):
    receiver.script = [Answer(HTTPStatus.SERVICE_UNAVAILABLE, body=b"down for maintenance")]
    make_endpoint(tenant, receiver.url)
    family = drivers()[1]
    with django_capture_on_commit_callbacks(execute=True):
        family.finish(family.make(tenant))
    run_due_attempts()
    delivery = Delivery.objects.for_tenant(tenant).get()

    changelist = staff.get(reverse("admin:webhooks_delivery_changelist"))
    page = staff.get(reverse("admin:webhooks_delivery_change", args=[delivery.pk]))

    assert changelist.status_code == HTTPStatus.OK
    assert str(delivery.job_id) in changelist.content.decode()
    content = page.content.decode()
    assert "down for maintenance" in content
    assert "503" in content
    assert str(delivery.delivery_id) in content


def test_another_tenants_endpoint_and_deliveries_are_404_in_the_admin(
    staff, other_tenant, make_endpoint, receiver, django_capture_on_commit_callbacks
):
    endpoint, _ = make_endpoint(other_tenant, receiver.url)
    family = drivers()[1]
    with django_capture_on_commit_callbacks(execute=True):
        family.finish(family.make(other_tenant))
    delivery = Delivery.objects.for_tenant(other_tenant).get()

    for url in (
        reverse("admin:webhooks_endpoint_change", args=[endpoint.pk]),
        reverse("admin:webhooks_delivery_change", args=[delivery.pk]),
    ):
        assert staff.get(url).status_code == HTTPStatus.NOT_FOUND
    assert (
        str(endpoint.url)
        not in staff.get(reverse("admin:webhooks_endpoint_changelist")).content.decode()
    )
