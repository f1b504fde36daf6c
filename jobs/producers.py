"""What the families' producer endpoints share: which tenant a create writes to."""

from __future__ import annotations

from tenancy.access import Principal
from tenancy.models import Tenant


class AmbiguousTenant(Exception):
    """A session may write in several tenants, and a create names none."""

    def __init__(self) -> None:
        super().__init__(
            "You may write jobs in more than one tenant: create jobs with an API token, "
            "which writes in its own tenant."
        )


def producer_tenant(principal: Principal, permission: str) -> Tenant:
    """Return the one tenant where `principal` creates jobs: a token's own, or a session's only."""
    if principal.token is not None:
        return principal.token.tenant
    scope = principal.tenant_scope(permission)
    tenants = Tenant.objects.filter(is_active=True)
    if not scope.everything:
        tenants = tenants.filter(pk__in=scope.ids)
    found = list(tenants[:2])
    if len(found) != 1:
        raise AmbiguousTenant()
    return found[0]
