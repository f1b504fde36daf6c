"""The permission catalogue: every permission a role may hold, and the scopes a token may carry.

tenancy names no job family: each family registers its own permissions (and any extra token
scope, such as Canvas' LTI scope) when the job family registry loads it at start-up. The
catalogue is complete once Django is ready; nothing reads it before.
"""

from __future__ import annotations

# The role with exactly this name holds every permission, whatever its list says.
ADMIN_ROLE_NAME = "admin"


class Catalogue:
    """Permission codes (e.g. `PROGRESS:READ`) with their labels, in registration order."""

    def __init__(self) -> None:
        self._labels: dict[str, str] = {}
        self._extra_scopes: set[str] = set()

    def register(self, code: str, label: str) -> None:
        """Add a permission; registering the same code again keeps its first label."""
        self._labels.setdefault(code, label)

    def register_scope(self, scope: str) -> None:
        """Add a token scope that is not a permission (e.g. an OAuth scope of one family)."""
        self._extra_scopes.add(scope)

    def permissions(self) -> frozenset[str]:
        return frozenset(self._labels)

    def token_scopes(self) -> frozenset[str]:
        """Return what a token's `scopes` may name: permissions and the extra scopes."""
        return self.permissions() | self._extra_scopes

    def choices(self) -> list[tuple[str, str]]:
        """Return (code, label) pairs, for forms."""
        return list(self._labels.items())


catalogue = Catalogue()


def all_permissions() -> frozenset[str]:
    """Return every permission in the catalogue."""
    return catalogue.permissions()


def role_permissions(role_name: str, permissions: list[str] | None) -> frozenset[str]:
    """Return what a role grants: everything for `admin`, else its catalogue permissions."""
    if role_name == ADMIN_ROLE_NAME:
        return all_permissions()
    return frozenset(permissions or ()) & all_permissions()


def narrow_by_scopes(granted: frozenset[str], scopes: list[str] | None) -> frozenset[str]:
    """Return `granted` narrowed by a token's scopes (`None` means no narrowing)."""
    if scopes is None:
        return granted
    return granted & frozenset(scopes)


def token_permissions(
    *,
    is_superuser: bool,
    role_name: str | None,
    role_perms: list[str] | None,
    scopes: list[str] | None,
) -> frozenset[str]:
    """Return what a token may do in its tenant: its owner's grant there, narrowed by its scopes.

    The owner's grant is every permission for a superuser, else the role of their membership in
    the token's tenant (nothing without one).
    """
    if is_superuser:
        granted = all_permissions()
    elif role_name is None:
        granted = frozenset()
    else:
        granted = role_permissions(role_name, role_perms)
    return narrow_by_scopes(granted, scopes)
