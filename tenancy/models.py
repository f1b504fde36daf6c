"""Tenants, roles, memberships, API tokens and access keys, and the tenant-owned base model."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property

from tenancy.permissions import catalogue, role_permissions, token_permissions

if TYPE_CHECKING:
    from tenancy.access import Principal


def new_project_id() -> str:
    """Return a fresh ROMA-style project id (32 lowercase hex characters)."""
    return uuid.uuid4().hex


project_id_validator = RegexValidator(
    r"^[A-Za-z0-9_-]{1,64}$", "Use 1 to 64 letters, digits, '-' or '_'."
)


class Tenant(models.Model):
    """An organisation whose jobs are isolated from every other tenant's."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    project_id = models.CharField(
        max_length=64,
        unique=True,
        default=new_project_id,
        validators=[project_id_validator],
        help_text="The ROMA Connect project id under /v2/{project_id}/.",
    )
    is_active = models.BooleanField(
        default=True, help_text="An inactive tenant's tokens and memberships grant nothing."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name


def validate_permission_list(value: object) -> None:
    """Reject anything but a list of catalogue permissions."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError("Permissions must be a list of strings.")
    unknown = sorted(set(value) - catalogue.permissions())
    if unknown:
        raise ValidationError(f"Unknown permissions: {', '.join(unknown)}.")


def validate_scope_list(value: object) -> None:
    """Reject anything but a list of known token scopes."""
    if value is None:
        return
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError("Scopes must be a list of strings.")
    unknown = sorted(set(value) - catalogue.token_scopes())
    if unknown:
        raise ValidationError(f"Unknown scopes: {', '.join(unknown)}.")


class Role(models.Model):
    """A named set of permissions; the role named `admin` holds every permission."""

    name = models.CharField(max_length=64, unique=True)
    description = models.CharField(max_length=200, blank=True)
    permissions = models.JSONField(default=list, blank=True, validators=[validate_permission_list])

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def granted(self) -> frozenset[str]:
        """Return every permission this role grants."""
        return role_permissions(self.name, self.permissions)


class Membership(models.Model):
    """A user's role in one tenant."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "tenant"], name="membership_one_per_tenant")
        ]
        ordering = ["tenant__slug", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant} as {self.role}"


class ApiTokenQuerySet(models.QuerySet):
    def usable(self) -> ApiTokenQuerySet:
        """Return credentials that are neither revoked nor expired."""
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class Credential:
    """What API tokens and access keys share: one tenant, scopes, expiry and revocation."""

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @cached_property
    def effective_permissions(self) -> frozenset[str]:
        """Return what this credential may do in its tenant (set by authentication or queried)."""
        membership = (
            Membership.objects.filter(user_id=self.user_id, tenant_id=self.tenant_id)
            .select_related("role")
            .first()
        )
        return token_permissions(
            is_superuser=self.user.is_superuser,
            role_name=membership.role.name if membership else None,
            role_perms=membership.role.permissions if membership else None,
            scopes=self.scopes,
        )


class ApiToken(Credential, models.Model):
    """A user's API key for one tenant; only its SHA-256 digest is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(
        max_length=16, help_text="The key's first characters, to tell keys apart."
    )
    digest = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(
        null=True,
        blank=True,
        validators=[validate_scope_list],
        help_text="Permissions (and the LTI scope) this token is limited to; empty: its role's.",
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class AccessKey(Credential, models.Model):
    """A user's AK/SK pair for one tenant, as Huawei Cloud signs requests (SDK-HMAC-SHA256).

    The access key id (AK) is visible. The secret (SK) must be read back to recompute a
    request's HMAC, so it cannot be hashed: it is stored encrypted (`tenancy.secrets`), and
    shown once, when the key is made.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_keys"
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="access_keys")
    name = models.CharField(max_length=100)
    access_key_id = models.CharField(
        "access key id (AK)", max_length=64, unique=True, editable=False
    )
    encrypted_secret = models.TextField(
        editable=False, help_text="The secret (SK), encrypted with JOBDESK_CREDENTIALS_KEYS."
    )
    scopes = models.JSONField(
        null=True,
        blank=True,
        validators=[validate_scope_list],
        help_text="Permissions this key is limited to; empty: its role's.",
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "access key"

    def __str__(self) -> str:
        return f"{self.name} ({self.access_key_id})"

    @property
    def prefix(self) -> str:
        """What tells this key apart in logs and lists: its access key id (never the secret)."""
        return self.access_key_id


class TenantScope:
    """The tenants a principal may act in for one permission: all of them, or a set of ids."""

    __slots__ = ("everything", "ids")

    def __init__(self, ids: frozenset[int] = frozenset(), *, everything: bool = False) -> None:
        self.ids = ids
        self.everything = everything

    def __bool__(self) -> bool:
        return self.everything or bool(self.ids)

    def __contains__(self, tenant_id: object) -> bool:
        return self.everything or tenant_id in self.ids

    def __repr__(self) -> str:
        return "TenantScope(everything)" if self.everything else f"TenantScope({sorted(self.ids)})"


class TenantOwnedQuerySet(models.QuerySet):
    def visible_to(self, principal: Principal, permission: str) -> TenantOwnedQuerySet:
        """Return the rows of tenants where `principal` holds `permission`."""
        return self.in_scope(principal.tenant_scope(permission))

    def in_scope(self, scope: TenantScope) -> TenantOwnedQuerySet:
        """Return the rows of the tenants in `scope`."""
        if scope.everything:
            return self.all()
        if len(scope.ids) == 1:
            (tenant_id,) = scope.ids
            return self.filter(tenant_id=tenant_id)
        return self.filter(tenant_id__in=scope.ids)

    def for_tenant(self, tenant: Tenant) -> TenantOwnedQuerySet:
        """Return the rows of one tenant."""
        return self.filter(tenant=tenant)


class TenantOwnedManager(models.Manager.from_queryset(TenantOwnedQuerySet)):
    """A manager whose default path is scoped: unscoped, it returns no rows at all.

    Reach rows through `visible_to(principal, permission)` or `for_tenant(tenant)`; reaching
    across tenants is the explicit, greppable `across_tenants()`. Django's own machinery
    (saving, deletion, forward foreign keys) uses the plain base manager and sees every row;
    reverse related managers of a tenant-owned model inherit this one and are empty too.
    """

    def get_queryset(self) -> TenantOwnedQuerySet:
        return super().get_queryset().none()

    def across_tenants(self) -> TenantOwnedQuerySet:
        """Return every row of every tenant: for services, admin and maintenance only."""
        return super().get_queryset()

    def visible_to(self, principal: Principal, permission: str) -> TenantOwnedQuerySet:
        return self.across_tenants().visible_to(principal, permission)

    def in_scope(self, scope: TenantScope) -> TenantOwnedQuerySet:
        return self.across_tenants().in_scope(scope)

    def for_tenant(self, tenant: Tenant) -> TenantOwnedQuerySet:
        return self.across_tenants().for_tenant(tenant)


class TenantOwnedModel(models.Model):
    """A row that belongs to exactly one tenant."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")

    objects = TenantOwnedManager()

    class Meta:
        abstract = True


class IdempotencyKey(models.Model):
    """A producer's `Idempotency-Key`: the job its first create made, so retries return it."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    family = models.CharField(max_length=32, help_text='The API family, e.g. "progress".')
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the first request.")
    job_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "family", "key"], name="idempotency_key_per_tenant_family"
            )
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_key_created")]

    def __str__(self) -> str:
        return f"{self.family} key {self.key!r} -> {self.job_id}"
