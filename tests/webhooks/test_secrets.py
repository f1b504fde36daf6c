"""Endpoint secrets are stored encrypted, follow a key rotation, and fail soft when unreadable."""

from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from tenancy import secrets as stored_secrets
from tests.jobs.drivers import drivers
from tests.webhooks.conftest import run_due_attempts
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db

OLD_KEY, NEW_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_rotating_moves_every_endpoint_secret_to_the_first_key(settings, tenant, make_endpoint):
    settings.JOBDESK_CREDENTIALS_KEYS = [OLD_KEY]
    endpoint, secret = make_endpoint(tenant, "https://93.184.215.14/hooks")
    settings.JOBDESK_CREDENTIALS_KEYS = [NEW_KEY, OLD_KEY]
    out = StringIO()

    call_command("reencrypt_webhook_secrets", stdout=out)

    settings.JOBDESK_CREDENTIALS_KEYS = [NEW_KEY]
    endpoint.refresh_from_db()
    assert stored_secrets.decrypt(endpoint.encrypted_secret) == secret
    assert "Encrypted 1 webhook secret(s)" in out.getvalue()


def test_a_secret_no_key_can_read_fails_the_attempt_and_sends_nothing(
    settings, tenant, make_endpoint, receiver, django_capture_on_commit_callbacks
):
    settings.JOBDESK_CREDENTIALS_KEYS = [OLD_KEY]
    make_endpoint(tenant, receiver.url)
    settings.JOBDESK_CREDENTIALS_KEYS = [NEW_KEY]
    family = drivers()[1]
    with django_capture_on_commit_callbacks(execute=True):
        family.finish(family.make(tenant))
    run_due_attempts()

    assert receiver.received == []
    delivery = Delivery.objects.for_tenant(tenant).get()
    assert delivery.last_error.startswith("Not sent: A stored secret cannot be decrypted")
    assert delivery.status == Delivery.Status.PENDING
