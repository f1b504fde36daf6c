"""DRF authentication by API token: `Authorization: Bearer <key>` and `X-Auth-Token: <key>`.

A token resolves in one SQL query: the token, its user and tenant, and the user's role in that
tenant. Failures carry a `code` (`invalid_token`, `expired_token`, `revoked_token`) so each API
family can answer in its own words.

A usable token is then cached (Django's cache, `JOBDESK_TOKEN_CACHE_SECONDS`), so the next
request resolves it with no query. Every change that could alter what a token may do (a token
revoked or edited, a membership, role, user or tenant saved or deleted) bumps one
authentication version, and a cached token counts only under the version it was read with
(see `tenancy.caching`); expiry is checked on every hit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS
from django.db.models import JSONField, Model, OuterRef, Subquery
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from tenancy import caching
from tenancy.models import ApiToken, Membership, Tenant
from tenancy.permissions import token_permissions

# Longer than any key jobdesk issues; anything longer is junk and is not even hashed.
MAX_KEY_LENGTH = 256
# One version for everything authentication depends on; see `authentication_changed`.
AUTH_VERSION_KEY = f"jobdesk:{caching.SCHEMA}:auth:version"
# The user's password hash never goes into the cache (it stays deferred on a cached user).
UNCACHED_USER_FIELDS = frozenset({"password"})


class TokenRejected(exceptions.AuthenticationFailed):
    """A token was presented but cannot be used; `code` says why."""


def digest_key(raw_key: str) -> str:
    """Return the stored form of a raw API key: its SHA-256 hex digest."""
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()


def token_cache_key(digest: str) -> str:
    return f"jobdesk:{caching.SCHEMA}:token:{digest}"


def authentication_changed() -> None:
    """Make every cached token count as a miss, now and again when the transaction commits.

    Called (through signals, see `tenancy.signals`) whenever a token, membership, role, user or
    tenant changes; with a shared cache the change holds from the very next request.
    """
    caching.bump_now_and_after_commit([AUTH_VERSION_KEY])


def forget_token(token: ApiToken) -> None:
    """Drop `token` from the cache (on top of the version bump, for a revoked token)."""
    caching.forget(token_cache_key(token.digest))


def field_values(instance: Model, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Return the concrete field values of `instance`, by attribute name."""
    return {
        field.attname: getattr(instance, field.attname)
        for field in instance._meta.concrete_fields
        if field.attname not in skip
    }


def rebuild(model: type[Model], values: dict[str, Any]) -> Model:
    """Return a model instance as if loaded from the database (missing fields deferred).

    Fields are matched by name, in the model's own order, never by position.
    """
    names = [f.attname for f in model._meta.concrete_fields if f.attname in values]
    return model.from_db(DEFAULT_DB_ALIAS, names, [values[name] for name in names])


@dataclass(frozen=True, slots=True)
class CachedToken:
    """A usable token as the cache holds it: plain values, stamped with the auth version."""

    version: int
    token: dict[str, Any]
    user: dict[str, Any]
    tenant: dict[str, Any]
    permissions: frozenset[str]

    @classmethod
    def of(cls, token: ApiToken, version: int) -> CachedToken:
        return cls(
            version=version,
            token=field_values(token),
            user=field_values(token.user, UNCACHED_USER_FIELDS),
            tenant=field_values(token.tenant),
            permissions=token.effective_permissions,
        )

    def to_token(self) -> ApiToken:
        """Return the token, with its user and tenant, built without a query."""
        token = rebuild(ApiToken, self.token)
        token.user = rebuild(get_user_model(), self.user)
        token.tenant = rebuild(Tenant, self.tenant)
        token.effective_permissions = self.permissions
        token.cache_version = self.version
        return token


def remember(token: ApiToken) -> None:
    """Cache a usable token under the version read before it was loaded."""
    version = getattr(token, "cache_version", None)
    timeout = settings.JOBDESK_TOKEN_CACHE_SECONDS
    if version is None or timeout <= 0:
        return
    if token.expires_at is not None:
        timeout = min(timeout, (token.expires_at - timezone.now()).total_seconds())
    if timeout > 0:
        caching.write(token_cache_key(token.digest), CachedToken.of(token, version), timeout)


def check_raw_key(raw_key: str) -> None:
    if not raw_key or len(raw_key) > MAX_KEY_LENGTH or not raw_key.isprintable():
        raise TokenRejected("Invalid access token.", code="invalid_token")


# Tokens built from cache entries, reused by the read-only poll fast path of this process for
# the very entry object they were built from (see `cached_token`).
BUILT_TOKENS: dict[str, tuple[CachedToken, ApiToken]] = {}
MAX_BUILT_TOKENS = 10_000


def cached_token(digest: str, found: dict[str, Any], *, shared: bool = False) -> ApiToken | None:
    """Return the token cached for `digest` if it is current, from values read by `read_many`.

    An expired token raises TokenRejected; anything else not current returns None (a miss).
    With `shared`, the token may be an instance already built from this very entry object
    (cache values decoded from identical bytes are one object, see `tenancy.cache_backends`):
    for callers that only read it (the poll fast path), never for a request's `auth`.
    """
    entry = found.get(token_cache_key(digest))
    if not isinstance(entry, CachedToken) or entry.version != found.get(AUTH_VERSION_KEY):
        return None
    built = BUILT_TOKENS.get(digest) if shared else None
    if built is not None and built[0] is entry:
        token = built[1]
    else:
        token = entry.to_token()
        if shared:
            if len(BUILT_TOKENS) >= MAX_BUILT_TOKENS:
                BUILT_TOKENS.clear()
            BUILT_TOKENS[digest] = (entry, token)
    if token.is_expired:
        raise TokenRejected("Expired access token.", code="expired_token")
    return token


def resolve_token(raw_key: str, found: dict[str, Any] | None = None) -> ApiToken:
    """Return the usable token for `raw_key`, with its effective permissions.

    From the cache when it holds the token under the current version (no query), else in one
    query, then cached. `found` are cache values already read in this request.
    """
    check_raw_key(raw_key)
    digest = digest_key(raw_key)
    if found is None:
        found = caching.read_many([AUTH_VERSION_KEY, token_cache_key(digest)])
    token = cached_token(digest, found)
    if token is not None:
        return token
    version = caching.current_version(AUTH_VERSION_KEY, found.get(AUTH_VERSION_KEY))
    token = load_token(digest)
    token.cache_version = version
    remember(token)
    return token


def load_token(digest: str) -> ApiToken:
    """Return the usable token whose key hashes to `digest`, in one query."""
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
            .get(digest=digest)
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
    if last_use_due(token, now):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
        remember(token)


def last_use_due(token: ApiToken, now=None) -> bool:
    """Return True if `token`'s `last_used_at` is old enough to be written again."""
    interval = timedelta(seconds=settings.JOBDESK_TOKEN_LAST_USED_INTERVAL_SECONDS)
    return token.last_used_at is None or (now or timezone.now()) - token.last_used_at >= interval


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
