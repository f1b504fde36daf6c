"""DRF authentication by API token: `Authorization: Bearer <key>` and `X-Auth-Token: <key>`.

A token resolves in one SQL query: the token, its user and tenant, and the user's role in that
tenant. Failures carry a `code` (`invalid_token`, `expired_token`, `revoked_token`) so each API
family can answer in its own words.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.conf import settings
from django.db.models import JSONField, OuterRef, Subquery
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from tenancy.models import ApiToken, Membership
from tenancy.permissions import token_permissions

# Longer than any key jobdesk issues; anything longer is junk and is not even hashed.
MAX_KEY_LENGTH = 256


class TokenRejected(exceptions.AuthenticationFailed):
    """A token was presented but cannot be used; `code` says why."""


def digest_key(raw_key: str) -> str:
    """Return the stored form of a raw API key: its SHA-256 hex digest."""
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()


def resolve_token(raw_key: str) -> ApiToken:
    """Return the usable token for `raw_key`, with its effective permissions, in one query."""
    if not raw_key or len(raw_key) > MAX_KEY_LENGTH or not raw_key.isprintable():
        raise TokenRejected("Invalid access token.", code="invalid_token")
    membership = Membership.objects.filter(user=OuterRef("user"), tenant=OuterRef("tenant"))
    try:
        token = (
            ApiToken.objects.select_related("user", "tenant")
            .annotate(
                role_name=Subquery(membership.values("role__name")[:1]),
                role_permissions=Subquery(
                    membership.values("role__permissions")[:1], output_field=JSONField()
                ),
            )
            .get(digest=digest_key(raw_key))
        )
    except ApiToken.DoesNotExist:
        raise TokenRejected("Invalid access token.", code="invalid_token") from None
    if token.is_revoked:
        raise TokenRejected("Revoked access token.", code="revoked_token")
    if token.is_expired:
        raise TokenRejected("Expired access token.", code="expired_token")
    if not token.user.is_active or not token.tenant.is_active:
        raise TokenRejected("Invalid access token.", code="invalid_token")
    token.effective_permissions = token_permissions(
        is_superuser=token.user.is_superuser,
        role_name=token.role_name,
        role_perms=token.role_permissions,
        scopes=token.scopes,
    )
    return token


def touch_last_used(token: ApiToken) -> None:
    """Record that `token` was used, at most once per configured interval."""
    now = timezone.now()
    interval = timedelta(seconds=settings.JOBDESK_TOKEN_LAST_USED_INTERVAL_SECONDS)
    if token.last_used_at is None or now - token.last_used_at >= interval:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


class TokenAuthentication(BaseAuthentication):
    """Authenticate with a jobdesk API key read from one request header."""

    www_authenticate_realm = "jobdesk"

    def get_raw_key(self, request: Request) -> str | None:
        raise NotImplementedError

    def authenticate(self, request: Request):
        raw_key = self.get_raw_key(request)
        if raw_key is None:
            return None
        token = resolve_token(raw_key)
        touch_last_used(token)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return f'Bearer realm="{self.www_authenticate_realm}"'


class BearerTokenAuthentication(TokenAuthentication):
    """`Authorization: Bearer <key>`, as Canvas and Traffic Ops clients send it."""

    def get_raw_key(self, request: Request) -> str | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, key = header.strip().partition(" ")
        if scheme.lower() != "bearer":
            return None
        return key.strip()


class XAuthTokenAuthentication(TokenAuthentication):
    """`X-Auth-Token: <key>`, as ROMA Connect (Huawei Cloud IAM) clients send it."""

    def get_raw_key(self, request: Request) -> str | None:
        if "HTTP_X_AUTH_TOKEN" not in request.META:
            return None
        return request.META["HTTP_X_AUTH_TOKEN"].strip()
