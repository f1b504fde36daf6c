"""Access keys (AK/SK): the secret is shown once, stored only encrypted, and rotates keys."""

import logging
import re
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from tenancy import secrets
from tenancy.models import AccessKey
from tenancy.services import access_key_issue, access_key_revoke

pytestmark = pytest.mark.django_db

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


@pytest.fixture
def owner(make_member, tenant):
    return make_member(tenant, "operations")


def test_an_issued_key_has_a_huawei_shaped_id_and_a_secret_stored_only_encrypted(owner, tenant):
    access_key, secret = access_key_issue(user=owner, tenant=tenant, name="sdk")

    stored = AccessKey.objects.get(pk=access_key.pk)
    assert re.fullmatch(r"[A-Z0-9]{20}", stored.access_key_id)
    assert re.fullmatch(r"[A-Za-z0-9]{40}", secret)
    assert secret not in stored.encrypted_secret
    assert secrets.decrypt(stored.encrypted_secret) == secret


def test_two_keys_never_share_an_id_or_a_secret(owner, tenant):
    first = access_key_issue(user=owner, tenant=tenant, name="a")
    second = access_key_issue(user=owner, tenant=tenant, name="b")

    assert first[0].access_key_id != second[0].access_key_id
    assert first[1] != second[1]


def test_a_key_for_a_user_without_a_role_in_the_tenant_is_refused(
    make_member, tenant, other_tenant
):
    stranger = make_member(other_tenant)

    with pytest.raises(Exception, match="no membership"):
        access_key_issue(user=stranger, tenant=tenant, name="x")
    assert not AccessKey.objects.exists()


def test_secrets_encrypt_with_the_first_key_and_decrypt_with_any(settings):
    settings.JOBDESK_CREDENTIALS_KEYS = [OLD_KEY]
    stored = secrets.encrypt("s3cret")
    settings.JOBDESK_CREDENTIALS_KEYS = [NEW_KEY, OLD_KEY]

    assert secrets.decrypt(stored) == "s3cret"
    assert Fernet(OLD_KEY.encode()).decrypt(stored.encode()) == b"s3cret"
    assert Fernet(NEW_KEY.encode()).decrypt(secrets.encrypt("next").encode()) == b"next"


def test_a_secret_made_with_a_removed_key_cannot_be_read(settings):
    settings.JOBDESK_CREDENTIALS_KEYS = [OLD_KEY]
    stored = secrets.encrypt("s3cret")
    settings.JOBDESK_CREDENTIALS_KEYS = [NEW_KEY]

    with pytest.raises(secrets.SecretUnreadable) as refused:
        secrets.decrypt(stored)
    assert "s3cret" not in str(refused.value)


def test_rotating_moves_every_secret_to_the_first_key(settings, owner, tenant):
    settings.JOBDESK_CREDENTIALS_KEYS = [OLD_KEY]
    access_key, secret = access_key_issue(user=owner, tenant=tenant, name="sdk")
    settings.JOBDESK_CREDENTIALS_KEYS = [NEW_KEY, OLD_KEY]
    out = StringIO()

    call_command("rotate_credentials_keys", stdout=out)

    settings.JOBDESK_CREDENTIALS_KEYS = [NEW_KEY]
    access_key.refresh_from_db()
    assert secrets.decrypt(access_key.encrypted_secret) == secret
    assert "Encrypted 1 access key secret(s)" in out.getvalue()


def test_rotating_without_the_key_that_made_a_secret_fails_and_changes_nothing(
    settings, owner, tenant
):
    settings.JOBDESK_CREDENTIALS_KEYS = [OLD_KEY]
    access_key, _ = access_key_issue(user=owner, tenant=tenant, name="sdk")
    before = access_key.encrypted_secret
    settings.JOBDESK_CREDENTIALS_KEYS = [NEW_KEY]

    with pytest.raises(CommandError, match="cannot be decrypted"):
        call_command("rotate_credentials_keys", stdout=StringIO())
    access_key.refresh_from_db()
    assert access_key.encrypted_secret == before


def test_create_access_key_prints_the_id_and_secret_once_on_one_line(owner, tenant):
    out = StringIO()

    call_command("create_access_key", owner.username, tenant.slug, "--name", "ci", stdout=out)

    access_key_id, secret = out.getvalue().split()
    stored = AccessKey.objects.get(access_key_id=access_key_id)
    assert out.getvalue() == f"{access_key_id} {secret}\n"
    assert (stored.user, stored.tenant, stored.name) == (owner, tenant, "ci")
    assert secrets.decrypt(stored.encrypted_secret) == secret


def test_create_access_key_takes_scopes_and_an_expiry(owner, tenant):
    out = StringIO()

    call_command(
        "create_access_key",
        owner.username,
        tenant.slug,
        "--scope",
        "ASSET-JOB:READ",
        "--expires-in-days",
        "3",
        stdout=out,
    )

    stored = AccessKey.objects.get(access_key_id=out.getvalue().split()[0])
    assert stored.scopes == ["ASSET-JOB:READ"]
    assert stored.expires_at is not None


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["nobody", "acme"], "No user named 'nobody'"),
        (["{user}", "nowhere"], "No tenant with slug 'nowhere'"),
        (["{user}", "acme", "--scope", "BOGUS"], "Unknown scopes: BOGUS"),
        (["{user}", "acme", "--expires-in-days", "0"], "must be a positive number"),
    ],
)
def test_create_access_key_refuses_bad_input_and_makes_nothing(owner, tenant, arguments, message):
    arguments = [argument.format(user=owner.username) for argument in arguments]

    with pytest.raises(CommandError, match=message):
        call_command("create_access_key", *arguments, stdout=StringIO())
    assert not AccessKey.objects.exists()


def test_revoking_keeps_the_first_revocation_time(owner, tenant):
    access_key, _ = access_key_issue(user=owner, tenant=tenant, name="sdk")
    first = access_key_revoke(access_key=access_key).revoked_at

    assert access_key_revoke(access_key=access_key).revoked_at == first


def test_the_secret_is_never_logged_when_issued_or_rotated(settings, owner, tenant, caplog):
    caplog.set_level(logging.DEBUG)
    settings.JOBDESK_CREDENTIALS_KEYS = [OLD_KEY]
    _, secret = access_key_issue(user=owner, tenant=tenant, name="sdk")
    settings.JOBDESK_CREDENTIALS_KEYS = [NEW_KEY, OLD_KEY]
    call_command("rotate_credentials_keys", stdout=StringIO())

    assert secret not in caplog.text
    assert OLD_KEY not in caplog.text
    assert NEW_KEY not in caplog.text


# The admin ------------------------------------------------------------------------------------


@pytest.fixture
def superuser_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    return client


def test_the_admin_shows_the_secret_once_at_creation(superuser_client, owner, tenant):
    response = superuser_client.post(
        "/admin/tenancy/accesskey/add/",
        {"user": owner.pk, "tenant": tenant.pk, "name": "sdk"},
    )

    stored = AccessKey.objects.get()
    secret = secrets.decrypt(stored.encrypted_secret)
    page = response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert stored.access_key_id in page
    assert secret in page
    assert tenant.project_id in page
    change = superuser_client.get(f"/admin/tenancy/accesskey/{stored.pk}/change/").content.decode()
    assert stored.access_key_id in change
    assert secret not in change
    assert stored.encrypted_secret not in change


def test_the_admin_lists_keys_by_id_and_revokes_them(superuser_client, owner, tenant):
    access_key, secret = access_key_issue(user=owner, tenant=tenant, name="sdk")

    listing = superuser_client.get("/admin/tenancy/accesskey/").content.decode()
    superuser_client.post(
        "/admin/tenancy/accesskey/",
        {"action": "revoke_selected", "_selected_action": [access_key.pk]},
    )

    assert access_key.access_key_id in listing
    assert secret not in listing
    access_key.refresh_from_db()
    assert access_key.is_revoked
