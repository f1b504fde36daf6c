"""Writes to tenants, memberships, tokens and access keys. Views, admin and commands call these."""

from __future__ import annotations

import secrets
import string
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tenancy import secrets as stored_secrets
from tenancy.authentication import authentication_changed, digest_key, forget_token
from tenancy.models import AccessKey, ApiToken, Membership, Role, Tenant, validate_scope_list

KEY_PREFIX = "jd_"
VISIBLE_PREFIX_LENGTH = 10
# Huawei Cloud's shapes: a 20-character access key id, a 40-character secret.
ACCESS_KEY_ID_ALPHABET = string.ascii_uppercase + string.digits
ACCESS_KEY_ID_LENGTH = 20
SECRET_ALPHABET = string.ascii_letters + string.digits
SECRET_LENGTH = 40


def tenant_create(*, slug: str, name: str, project_id: str | None = None) -> Tenant:
    """Create a tenant; without `project_id` it gets a fresh 32-hex one."""
    tenant = Tenant(slug=slug, name=name)
    if project_id is not None:
        tenant.project_id = project_id
    tenant.full_clean()
    tenant.save()
    return tenant


def membership_grant(*, user: AbstractBaseUser, tenant: Tenant, role_name: str) -> Membership:
    """Give `user` the role `role_name` in `tenant`, replacing any role they had there."""
    try:
        role = Role.objects.get(name=role_name)
    except Role.DoesNotExist:
        raise ValidationError({"role": f"No role named {role_name!r}."}) from None
    membership, _ = Membership.objects.update_or_create(
        user=user, tenant=tenant, defaults={"role": role}
    )
    return membership


def membership_revoke(*, user: AbstractBaseUser, tenant: Tenant) -> None:
    """Take away `user`'s role in `tenant` (their tokens there then grant nothing)."""
    Membership.objects.filter(user=user, tenant=tenant).delete()


def new_raw_key() -> str:
    """Return a fresh random API key."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def check_token_owner(*, user: AbstractBaseUser, tenant: Tenant) -> None:
    """Refuse a token for a user who has no role in the tenant (it would grant nothing)."""
    if not user.is_superuser and not Membership.objects.filter(user=user, tenant=tenant).exists():
        raise ValidationError(f"{user} has no membership in {tenant}; grant one first.")


def check_token_expiry(expires_at: datetime) -> None:
    """Refuse an expiry that is already past."""
    if expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must be in the future."})


@transaction.atomic
def token_issue(
    *,
    user: AbstractBaseUser,
    tenant: Tenant,
    name: str,
    scopes: list[str] | None = None,
    expires_at: datetime | None = None,
    raw_key: str | None = None,
) -> tuple[ApiToken, str]:
    """Issue an API token and return it with its raw key, which is stored nowhere.

    `raw_key` is for fixed demo keys only; normal callers let jobdesk generate one.
    """
    validate_scope_list(scopes)
    check_token_owner(user=user, tenant=tenant)
    if expires_at is not None:
        check_token_expiry(expires_at)
    key = raw_key or new_raw_key()
    token = ApiToken(
        user=user,
        tenant=tenant,
        name=name,
        prefix=key[:VISIBLE_PREFIX_LENGTH],
        digest=digest_key(key),
        scopes=scopes,
        expires_at=expires_at,
    )
    token.full_clean()
    token.save()
    return token, key


def token_revoke(*, token: ApiToken) -> ApiToken:
    """Revoke `token` from now on; revoking twice keeps the first revocation time."""
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    authentication_changed()  # an UPDATE sends no signal
    forget_token(token)
    token.refresh_from_db(fields=["revoked_at"])
    return token


def new_access_key_pair() -> tuple[str, str]:
    """Return a fresh random access key id (AK) and secret (SK)."""
    access_key_id = "".join(
        secrets.choice(ACCESS_KEY_ID_ALPHABET) for _ in range(ACCESS_KEY_ID_LENGTH)
    )
    secret = "".join(secrets.choice(SECRET_ALPHABET) for _ in range(SECRET_LENGTH))
    return access_key_id, secret


@transaction.atomic
def access_key_issue(
    *,
    user: AbstractBaseUser,
    tenant: Tenant,
    name: str,
    scopes: list[str] | None = None,
    expires_at: datetime | None = None,
    pair: tuple[str, str] | None = None,
) -> tuple[AccessKey, str]:
    """Issue an access key and return it with its secret (SK), which is stored only encrypted.

    `pair` (access key id, secret) is for fixed demo keys only; normal callers let jobdesk
    generate one.
    """
    validate_scope_list(scopes)
    check_token_owner(user=user, tenant=tenant)
    if expires_at is not None:
        check_token_expiry(expires_at)
    access_key_id, secret = pair or new_access_key_pair()
    access_key = AccessKey(
        user=user,
        tenant=tenant,
        name=name,
        access_key_id=access_key_id,
        encrypted_secret=stored_secrets.encrypt(secret),
        scopes=scopes,
        expires_at=expires_at,
    )
    access_key.full_clean()
    access_key.save()
    return access_key, secret


def access_key_revoke(*, access_key: AccessKey) -> AccessKey:
    """Revoke `access_key` from now on; revoking twice keeps the first revocation time."""
    AccessKey.objects.filter(pk=access_key.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    authentication_changed()  # an UPDATE sends no signal
    forget_token(access_key)
    access_key.refresh_from_db(fields=["revoked_at"])
    return access_key


def access_keys_reencrypt() -> int:
    """Encrypt every stored secret again with the first credentials key; return how many."""
    done = 0
    rows = AccessKey.objects.order_by("pk").values_list("pk", "encrypted_secret")
    for pk, stored in list(rows):
        AccessKey.objects.filter(pk=pk, encrypted_secret=stored).update(
            encrypted_secret=stored_secrets.reencrypt(stored)
        )
        done += 1
    authentication_changed()  # cached keys hold the old ciphertext
    return done
