"""DRF authentication by API token (`Authorization: Bearer <key>`, `X-Auth-Token: <key>`,
Canvas' `access_token` parameter) and by access key signature (`Authorization:
SDK-HMAC-SHA256 ...`, as the Huawei Cloud SDKs sign with AK/SK; see `tenancy.signing`).

A credential resolves in one SQL query: the token or access key, its user and tenant, and the
user's role in that tenant. Failures carry a `code` (`invalid_token`, `expired_token`,
`revoked_token`, and for signatures those of `tenancy.signing`) so each API family can answer
in its own words.

A usable credential is then cached (Django's cache, `JOBDESK_TOKEN_CACHE_SECONDS`), so the
next request resolves it with no query. Every change that could alter what a credential may
do (one revoked or edited, a membership, role, user or tenant saved or deleted) bumps one
authentication version, and a cached credential counts only under the version it was read
with (see `tenancy.caching`), and at most `JOBDESK_MAX_STALENESS_SECONDS` after it was stored
unless the database is down; expiry is checked on every hit. An access key is cached with
its secret still encrypted; the decrypted secret stays in this process's memory only.

Each authenticator also offers `fast_lookup` for the poll fast path (`jobs.polling`): the
cache keys to read and how to turn what was read into a credential, with no query. It serves
only a credential the full path would accept; anything else is left to the full path.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS
from django.db.models import JSONField, Model, OuterRef, Subquery
from django.http import HttpRequest
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request, is_form_media_type

from tenancy import caching, outage, secrets, signing
from tenancy.models import AccessKey, ApiToken, Membership, Tenant
from tenancy.permissions import token_permissions
from tenancy.recent import RecentReads

logger = logging.getLogger(__name__)

# Longer than any key jobdesk issues; anything longer is junk and is not even hashed.
MAX_KEY_LENGTH = 256
# One version for everything authentication depends on; see `authentication_changed`.
AUTH_VERSION_KEY = f"jobdesk:{caching.SCHEMA}:auth:version"
# The user's password hash never goes into the cache (it stays deferred on a cached user).
UNCACHED_USER_FIELDS = frozenset({"password"})


class TokenRejected(exceptions.AuthenticationFailed):
    """A token was presented but cannot be used; `code` says why."""


class FastPathDeclined(Exception):
    """The request carries credentials that only the full authentication path may judge."""


def digest_key(raw_key: str) -> str:
    """Return the stored form of a raw API key: its SHA-256 hex digest."""
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()


def token_cache_key(digest: str) -> str:
    return f"jobdesk:{caching.SCHEMA}:token:{digest}"


def access_key_cache_key(access_key_id: str) -> str:
    return f"jobdesk:{caching.SCHEMA}:access-key:{access_key_id}"


def credential_cache_key(credential: ApiToken | AccessKey) -> str:
    if isinstance(credential, AccessKey):
        return access_key_cache_key(credential.access_key_id)
    return token_cache_key(credential.digest)


def authentication_changed() -> None:
    """Make every cached token count as a miss, now and again when the transaction commits.

    Called (through signals, see `tenancy.signals`) whenever a token, membership, role, user or
    tenant changes; with a shared cache the change holds from the very next request.
    """
    caching.bump_now_and_after_commit([AUTH_VERSION_KEY])


def forget_token(token: ApiToken | AccessKey) -> None:
    """Drop `token` from the cache (on top of the version bump, for a revoked credential)."""
    caching.forget(credential_cache_key(token))


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

    model: ClassVar[type[Model]] = ApiToken

    version: int
    token: dict[str, Any]
    user: dict[str, Any]
    tenant: dict[str, Any]
    permissions: frozenset[str]
    stored_at: float = field(default_factory=time.time)

    @classmethod
    def of(cls, token: ApiToken | AccessKey, version: int) -> CachedToken:
        kind = CachedAccessKey if isinstance(token, AccessKey) else CachedToken
        return kind(
            version=version,
            token=field_values(token),
            user=field_values(token.user, UNCACHED_USER_FIELDS),
            tenant=field_values(token.tenant),
            permissions=token.effective_permissions,
            # A credential read from the cache keeps its age: caching it again (its use
            # recorded) must not make it fresh without the database being read.
            stored_at=getattr(token, "cache_stored_at", None) or time.time(),
        )

    def to_token(self) -> ApiToken | AccessKey:
        """Return the credential, with its user and tenant, built without a query."""
        token = rebuild(self.model, self.token)
        token.user = rebuild(get_user_model(), self.user)
        token.tenant = rebuild(Tenant, self.tenant)
        token.effective_permissions = self.permissions
        token.cache_version = self.version
        token.cache_stored_at = self.stored_at
        return token


@dataclass(frozen=True, slots=True)
class CachedAccessKey(CachedToken):
    """A usable access key as the cache holds it; its secret stays encrypted."""

    model: ClassVar[type[Model]] = AccessKey


def remember(token: ApiToken | AccessKey) -> None:
    """Cache a usable token under the version read before it was loaded."""
    timeout = cache_timeout(token)
    if timeout > 0:
        caching.write(
            credential_cache_key(token), CachedToken.of(token, token.cache_version), timeout
        )


def cache_timeout(token: ApiToken | AccessKey) -> float:
    """Return how long to cache the loaded `token` for (0: not at all)."""
    timeout = settings.JOBDESK_TOKEN_CACHE_SECONDS
    if getattr(token, "cache_version", None) is None or timeout <= 0:
        return 0
    if token.expires_at is not None:
        timeout = min(timeout, (token.expires_at - timezone.now()).total_seconds())
    return max(timeout, 0)


def check_raw_key(raw_key: str) -> None:
    if not raw_key or len(raw_key) > MAX_KEY_LENGTH or not raw_key.isprintable():
        raise TokenRejected("Invalid access token.", code="invalid_token")


# Credentials built from cache entries, reused by the read-only poll fast path of this process
# for the very entry object they were built from (see `cached_token`).
BUILT_TOKENS: dict[str, tuple[CachedToken, ApiToken | AccessKey]] = {}
MAX_BUILT_TOKENS = 10_000


def cached_token(
    digest: str,
    found: dict[str, Any],
    *,
    shared: bool = False,
    served: Callable[[float], bool] | None = caching.fresh,
) -> ApiToken | None:
    """Return the token cached for `digest` if it is current, from values read by `read_many`.

    An expired token raises TokenRejected; anything else not current returns None (a miss).
    `served` says whether an entry stored at a given time may be served (None: at any age).
    With `shared`, the token may be an instance already built from this very entry object
    (cache values decoded from identical bytes are one object, see `tenancy.cache_backends`):
    for callers that only read it (the poll fast path), never for a request's `auth`.
    """
    token = cached_credential(
        token_cache_key(digest), CachedToken, found, shared=shared, served=served
    )
    if token is not None and token.is_expired:
        raise TokenRejected("Expired access token.", code="expired_token")
    if token is not None and shared:
        RECENT_TOKENS.note(digest, token.cache_stored_at)
    return token


def cached_credential(
    key: str,
    kind: type[CachedToken],
    found: dict[str, Any],
    *,
    shared: bool = False,
    served: Callable[[float], bool] | None = caching.fresh,
) -> ApiToken | AccessKey | None:
    """Return the credential cached under `key` if it is current (see `cached_token`)."""
    entry = found.get(key)
    if type(entry) is not kind or entry.version != found.get(AUTH_VERSION_KEY):
        return None
    if served is not None and not served(entry.stored_at):
        return None
    built = BUILT_TOKENS.get(key) if shared else None
    if built is not None and built[0] is entry:
        return built[1]
    token = entry.to_token()
    if shared:
        if len(BUILT_TOKENS) >= MAX_BUILT_TOKENS:
            BUILT_TOKENS.clear()
        BUILT_TOKENS[key] = (entry, token)
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
    stale = cached_token(digest, found, served=None)
    due = due_tokens(version, besides=digest) if version is not None else []
    token = caching.load_or_stale(lambda: load_token(digest, due=due, version=version), stale)
    if token is not stale:
        token.cache_version = version
        remember(token)
    return token


def load_token(digest: str, *, due: Sequence[str] = (), version: int | None = None) -> ApiToken:
    """Return the usable token whose key hashes to `digest`, in one query.

    The same query loads the tokens `due` a check (`due_tokens`), cached again under
    `version` (read before the query) when they may still be used.
    """
    tokens = {
        token.digest: token
        for token in with_grant(ApiToken.objects).filter(digest__in=[digest, *due])
    }
    token = tokens.pop(digest, None)
    if tokens:
        cache_reloaded(tokens.values(), version)
    if token is None:
        raise TokenRejected("Invalid access token.", code="invalid_token")
    check_usable(token)
    return granted(token)


def check_usable(token: ApiToken) -> None:
    """Raise TokenRejected if the loaded `token` may not be used (see `load_token`)."""
    if token.is_revoked:
        raise TokenRejected("Revoked access token.", code="revoked_token")
    if token.is_expired:
        raise TokenRejected("Expired access token.", code="expired_token")
    if not token.user.is_active or not token.tenant.is_active:
        raise TokenRejected("Invalid access token.", code="invalid_token")


# The tokens the poll fast path served lately, by digest: those whose cached entries are past
# half the staleness bound are loaded again with the next token loaded (`due_tokens`).
RECENT_TOKENS = RecentReads(seconds=60, max_entries=10_000)
# At most this many tokens are loaded in one query.
TOKENS_LOADED_AT_ONCE = 25


def due_tokens(version: int, besides: str) -> list[str]:
    """Return the digests of the tokens read lately whose entries under `version` are past
    half the staleness bound (`tenancy.recent`), `besides` aside: to load with it."""
    half = settings.JOBDESK_MAX_STALENESS_SECONDS / 2
    digests = RECENT_TOKENS.older_than(half, limit=TOKENS_LOADED_AT_ONCE - 1, besides=besides)
    keys = [token_cache_key(digest) for digest in digests]
    found = caching.read_many(keys, kept=False) if keys else {}
    now, due = time.time(), []
    for digest in digests:
        entry = found.get(token_cache_key(digest))
        if type(entry) is not CachedToken or entry.version != version:
            RECENT_TOKENS.forget(digest)  # not served as it is: its next use loads it
        elif now - entry.stored_at > half:
            due.append(digest)
        else:  # cached again since it was read here
            RECENT_TOKENS.stored(digest, entry.stored_at)
    return due


def cache_reloaded(tokens: Iterable[ApiToken], version: int) -> None:
    """Cache under `version` the `tokens` loaded with another (`load_token`).

    `version` must have been read before their query, as for any token loaded. A token that
    may no longer be used is not cached again: its next use loads it, and is refused.
    """
    by_timeout: dict[float, dict[str, CachedToken]] = {}
    for token in tokens:
        try:
            check_usable(token)
        except TokenRejected:
            continue
        token.cache_version = version
        if (timeout := cache_timeout(token)) > 0:
            entry = CachedToken.of(granted(token), version)
            by_timeout.setdefault(timeout, {})[token_cache_key(token.digest)] = entry
            RECENT_TOKENS.stored(token.digest, entry.stored_at)
    for timeout, entries in by_timeout.items():  # one write for all tokens that do not expire
        caching.write_many(entries, timeout)


def with_grant(credentials):
    """Return `credentials` loading their user, tenant and the user's role there, in one query."""
    membership = Membership.objects.filter(user=OuterRef("user"), tenant=OuterRef("tenant"))
    return credentials.select_related("user", "tenant").annotate(
        role_name=Subquery(membership.values("role__name")[:1]),
        role_permissions=Subquery(
            membership.values("role__permissions")[:1], output_field=JSONField()
        ),
    )


def granted(credential):
    """Set what the loaded `credential` may do (from `with_grant`'s role columns); return it."""
    credential.effective_permissions = token_permissions(
        is_superuser=credential.user.is_superuser,
        role_name=credential.role_name,
        role_perms=credential.role_permissions,
        scopes=credential.scopes,
    )
    return credential


def resolve_access_key(access_key_id: str, found: dict[str, Any] | None = None) -> AccessKey:
    """Return the usable access key `access_key_id`, from the cache or in one query."""
    key = access_key_cache_key(access_key_id)
    if found is None:
        found = caching.read_many([AUTH_VERSION_KEY, key])
    access_key = cached_credential(key, CachedAccessKey, found)
    if access_key is not None:
        check_access_key(access_key)
        return access_key
    version = caching.current_version(AUTH_VERSION_KEY, found.get(AUTH_VERSION_KEY))
    stale = cached_credential(key, CachedAccessKey, found, served=None)
    access_key = caching.load_or_stale(lambda: load_access_key(access_key_id), stale)
    if access_key is stale:
        check_access_key(access_key)
    else:
        access_key.cache_version = version
        remember(access_key)
    return access_key


def load_access_key(access_key_id: str) -> AccessKey:
    """Return the usable access key `access_key_id`, in one query."""
    try:
        access_key = with_grant(AccessKey.objects).get(access_key_id=access_key_id)
    except AccessKey.DoesNotExist:
        raise signing.SignatureRejected(
            "The access key does not exist.", code="unknown_access_key"
        ) from None
    check_access_key(access_key)
    if not access_key.user.is_active or not access_key.tenant.is_active:
        raise signing.SignatureRejected("The access key does not exist.", code="unknown_access_key")
    return granted(access_key)


def check_access_key(access_key: AccessKey) -> None:
    if access_key.is_revoked:
        raise signing.SignatureRejected(
            "The access key has been revoked.", code="revoked_access_key"
        )
    if access_key.is_expired:
        raise signing.SignatureRejected("The access key has expired.", code="expired_access_key")


# Decrypted access key secrets by their stored (encrypted) form: this process's memory only,
# never the shared cache, so a signature check does not decrypt again.
DECRYPTED_SECRETS: dict[str, str] = {}
MAX_DECRYPTED_SECRETS = 10_000


def secret_of(access_key: AccessKey) -> str:
    """Return `access_key`'s secret (SK), decrypted once per process."""
    stored = access_key.encrypted_secret
    secret = DECRYPTED_SECRETS.get(stored)
    if secret is None:
        try:
            secret = secrets.decrypt(stored)
        except secrets.SecretUnreadable:
            logger.error("The secret of access key %s cannot be decrypted.", access_key.pk)
            raise signing.SignatureRejected(
                "The access key cannot be used.", code="unknown_access_key"
            ) from None
        if len(DECRYPTED_SECRETS) >= MAX_DECRYPTED_SECRETS:
            DECRYPTED_SECRETS.clear()
        DECRYPTED_SECRETS[stored] = secret
    return secret


def touch_last_used(token: ApiToken | AccessKey) -> None:
    """Record that `token` was used, at most once per configured interval.

    Not while the database is down: the request goes on without this bookkeeping.
    """
    now = timezone.now()
    if not last_use_due(token, now) or outage.database_down():
        return
    try:
        type(token).objects.filter(pk=token.pk).update(last_used_at=now)
    except outage.DATABASE_ERRORS as exc:
        outage.noticed(exc)
        return
    token.last_used_at = now
    remember(token)


class PresentedToken(enum.Enum):
    """What `refresh_presented_token` found of a request's token."""

    CACHED = "served by the cache already"
    RELOADED = "loaded again, and cached"


def refresh_presented_token(request: HttpRequest, authenticators: list) -> PresentedToken | None:
    """Cache again the API token `request` presents, if the cache cannot serve it now.

    For answers given before Django's request cycle (`jobs.asgi`, `jobs.wsgi`): once a cached
    token passes the staleness bound, or its use is due to be recorded, the cache cannot serve
    it; this loads it (one query), records its use if due, and stores it, so the cache serves
    it again.
    None if the request presents no token the `authenticators` (a view's, in order) would
    take, or an unusable one: the full path answers those.
    """
    for authenticator in authenticators:
        if not isinstance(authenticator, TokenAuthentication):
            return None  # a session, or a credential only the full path judges
        try:
            lookup = authenticator.fast_lookup(request)
        except FastPathDeclined:
            return None
        if lookup is None:
            continue
        if lookup.resolve(caching.read_many(lookup.keys)) is not None:
            return PresentedToken.CACHED
        try:
            token = resolve_token(authenticator.get_raw_key(request))
        except exceptions.AuthenticationFailed:
            return None
        touch_last_used(token)
        return PresentedToken.RELOADED
    return None


def use_due(token: ApiToken | AccessKey) -> bool:
    """Return True if the fast path must leave `token` to the full path to record its use."""
    return last_use_due(token) and not outage.database_down()


def last_use_due(token: ApiToken | AccessKey, now=None) -> bool:
    """Return True if `token`'s `last_used_at` is old enough to be written again."""
    interval = timedelta(seconds=settings.JOBDESK_TOKEN_LAST_USED_INTERVAL_SECONDS)
    return token.last_used_at is None or (now or timezone.now()) - token.last_used_at >= interval


@dataclass(frozen=True)
class FastLookup:
    """How the poll fast path resolves a request's credential from the cache, with no query."""

    keys: list[str]
    resolve: Callable[[dict[str, Any]], ApiToken | AccessKey | None]


class TokenAuthentication(BaseAuthentication):
    """Authenticate with a jobdesk API key read from one request header."""

    www_authenticate_realm = "jobdesk"

    def get_raw_key(self, request: Request) -> str | None:
        raise NotImplementedError

    def fast_lookup(self, request: HttpRequest) -> FastLookup | None:
        """Return the fast path's lookup of this request's key; None if it presents none."""
        raw_key = self.get_raw_key(request)
        if raw_key is None:
            return None
        try:
            check_raw_key(raw_key)
        except TokenRejected:
            raise FastPathDeclined() from None
        digest = digest_key(raw_key)

        def resolve(found: dict[str, Any]) -> ApiToken | None:
            try:
                token = cached_token(digest, found, shared=True, served=caching.usable)
            except TokenRejected:
                return None
            return None if token is None or use_due(token) else token

        return FastLookup([AUTH_VERSION_KEY, token_cache_key(digest)], resolve)

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


class AccessTokenParameterAuthentication(TokenAuthentication):
    """Canvas' `access_token` query or form parameter, read only when no Authorization is sent.

    As Canvas' `AuthenticationMethods.access_token` does. The key never reaches a log line or
    a link jobdesk writes (see `tenancy.logging` and Canvas' pagination).
    """

    parameter = "access_token"

    def get_raw_key(self, request: Request) -> str | None:
        if "HTTP_AUTHORIZATION" in request.META:
            return None
        raw_key = request.GET.get(self.parameter)
        if (
            raw_key is None
            and isinstance(request, Request)
            and is_form_media_type(request.content_type)
        ):
            raw_key = request.POST.get(self.parameter)
        return None if raw_key is None else raw_key.strip()


class SignatureAuthentication(BaseAuthentication):
    """`Authorization: SDK-HMAC-SHA256 Access=..., SignedHeaders=..., Signature=...` (AK/SK).

    Huawei Cloud's SDKs sign every request with an access key this way (`tenancy.signing`).
    """

    def authenticate(self, request: Request):
        signature = signing.presented_signature(request.META)
        if signature is None:
            return None
        signing.check_date(request.META)
        access_key = resolve_access_key(signature.access_key_id)
        signing.verify(django_request(request), signature, secret_of(access_key))
        touch_last_used(access_key)
        return access_key.user, access_key

    def authenticate_header(self, request: Request) -> str:
        return f'{signing.ALGORITHM} realm="jobdesk"'

    def fast_lookup(self, request: HttpRequest) -> FastLookup | None:
        """Return the fast path's lookup of the request's access key; None if it signs none."""
        try:
            signature = signing.presented_signature(request.META)
        except signing.SignatureRejected:
            raise FastPathDeclined() from None
        if signature is None:
            return None
        key = access_key_cache_key(signature.access_key_id)

        def resolve(found: dict[str, Any]) -> AccessKey | None:
            access_key = cached_credential(
                key, CachedAccessKey, found, shared=True, served=caching.usable
            )
            if access_key is None or use_due(access_key):
                return None
            try:
                check_access_key(access_key)
                signing.verify(request, signature, secret_of(access_key))
            except signing.SignatureRejected:
                return None
            return access_key

        return FastLookup([AUTH_VERSION_KEY, key], resolve)


def django_request(request: Request | HttpRequest) -> HttpRequest:
    """Return the Django request under a DRF one (the signature covers the raw request)."""
    return getattr(request, "_request", request)
