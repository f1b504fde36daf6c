"""The permission catalogue: every permission a role may hold, and the LTI scope."""

from django.db import models


class Perm(models.TextChoices):
    """A permission in a tenant; `WRITE` lets a producer create and update jobs."""

    PROGRESS_READ = "PROGRESS:READ", "Read Canvas progress"
    PROGRESS_CANCEL = "PROGRESS:CANCEL", "Cancel Canvas progress"
    PROGRESS_WRITE = "PROGRESS:WRITE", "Create and update Canvas progress"
    ASYNC_STATUS_READ = "ASYNC-STATUS:READ", "Read Traffic Ops async statuses"
    ASYNC_STATUS_WRITE = "ASYNC-STATUS:WRITE", "Create and update Traffic Ops async statuses"
    ASSET_JOB_READ = "ASSET-JOB:READ", "Read ROMA asset jobs"
    ASSET_JOB_CANCEL = "ASSET-JOB:CANCEL", "Cancel ROMA asset jobs"
    ASSET_JOB_WRITE = "ASSET-JOB:WRITE", "Create and update ROMA asset jobs"


ALL_PERMISSIONS: frozenset[str] = frozenset(Perm.values)

# The role with exactly this name holds every permission, whatever its list says.
ADMIN_ROLE_NAME = "admin"

# Canvas' LTI Advantage scope for reading progress; a token must carry it explicitly.
LTI_PROGRESS_SHOW_SCOPE = "https://canvas.instructure.com/lti-ags/progress/scope/show"

# What a token's `scopes` may name: catalogue permissions and the LTI scope.
TOKEN_SCOPES: frozenset[str] = ALL_PERMISSIONS | {LTI_PROGRESS_SHOW_SCOPE}


def role_permissions(role_name: str, permissions: list[str] | None) -> frozenset[str]:
    """Return what a role grants: everything for `admin`, else its catalogue permissions."""
    if role_name == ADMIN_ROLE_NAME:
        return ALL_PERMISSIONS
    return frozenset(permissions or ()) & ALL_PERMISSIONS


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
        granted = ALL_PERMISSIONS
    elif role_name is None:
        granted = frozenset()
    else:
        granted = role_permissions(role_name, role_perms)
    return narrow_by_scopes(granted, scopes)
