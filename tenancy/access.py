"""Every access decision in one place: which tenants a principal may act in, for what.

A principal is whoever makes a request: a user through the Django session, or a user through
a credential (an API token or an access key). A credential acts in its own tenant only, with
its role's permissions narrowed by its scopes; a session acts in every tenant where the user
has a membership; a superuser's session acts everywhere.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest

from tenancy.models import AccessKey, ApiToken, Membership, Tenant, TenantScope
from tenancy.permissions import role_permissions

PRINCIPAL_ATTRIBUTE = "_jobdesk_principal"


class Principal:
    """Who is asking, and what they may do in which tenant."""

    def __init__(self, user, token: ApiToken | AccessKey | None = None) -> None:
        self.user = user if user is not None else AnonymousUser()
        self.token = token
        self._grants: dict[int, frozenset[str]] | None = None

    def __repr__(self) -> str:
        via = f" via token {self.token.prefix}" if self.token else ""
        return f"<Principal {self.user}{via}>"

    @property
    def is_authenticated(self) -> bool:
        return bool(self.user.is_authenticated)

    @property
    def is_global(self) -> bool:
        """Return True for a superuser's session, which acts in every tenant."""
        return self.token is None and bool(self.user.is_active and self.user.is_superuser)

    @property
    def grants(self) -> dict[int, frozenset[str]]:
        """Return the permissions held, by tenant id (loaded once per principal)."""
        if self._grants is None:
            self._grants = self._load_grants()
        return self._grants

    def _load_grants(self) -> dict[int, frozenset[str]]:
        if not self.is_authenticated or not self.user.is_active:
            return {}
        if self.token is not None:
            return {self.token.tenant_id: self.token.effective_permissions}
        rows = Membership.objects.filter(user=self.user, tenant__is_active=True).values_list(
            "tenant_id", "role__name", "role__permissions"
        )
        return {tenant_id: role_permissions(name, perms) for tenant_id, name, perms in rows}

    def tenant_scope(self, permission: str) -> TenantScope:
        """Return the tenants where this principal holds `permission`."""
        if self.is_global:
            return TenantScope(everything=True)
        return TenantScope(
            frozenset(tenant_id for tenant_id, perms in self.grants.items() if permission in perms)
        )

    def holds(self, permission: str, tenant: Tenant | int) -> bool:
        """Return True if this principal holds `permission` in `tenant`."""
        tenant_id = tenant if isinstance(tenant, int) else tenant.pk
        return tenant_id in self.tenant_scope(permission)

    def holds_anywhere(self, permission: str) -> bool:
        """Return True if this principal holds `permission` in at least one tenant."""
        return bool(self.tenant_scope(permission))

    def scoped_out_of(self, *permissions: str) -> bool:
        """Return True if the principal's token has scopes and they name none of `permissions`.

        A right that comes from something other than a role (being a job's creator) is
        narrowed by scopes like a role's: a read-only token must not carry it.
        """
        scopes = self.token.scopes if self.token is not None else None
        return bool(scopes) and not set(permissions) & set(scopes)

    def has_token_scope(self, scope: str) -> bool:
        """Return True if the principal's token explicitly carries `scope` (e.g. the LTI one)."""
        return self.token is not None and scope in (self.token.scopes or ())


def principal_for(request: HttpRequest) -> Principal:
    """Return the request's principal, built once per request.

    Works for DRF requests (token in `request.auth`) and plain Django requests (admin).
    """
    cached = getattr(request, PRINCIPAL_ATTRIBUTE, None)
    if cached is not None:
        return cached
    token = getattr(request, "auth", None)
    principal = Principal(request.user, token if isinstance(token, ApiToken | AccessKey) else None)
    setattr(request, PRINCIPAL_ATTRIBUTE, principal)
    return principal
