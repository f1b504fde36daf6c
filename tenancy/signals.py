"""Keep cached credentials true: any change to what one may do bumps the auth version."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_migrate, post_save

from tenancy.authentication import authentication_changed
from tenancy.models import AccessKey, ApiToken, Membership, Role, Tenant

# Saves that touch only these fields change nothing a token grants.
BOOKKEEPING_FIELDS = frozenset({"last_login", "last_used_at"})


def on_change(sender, update_fields=None, **kwargs) -> None:
    if update_fields and frozenset(update_fields) <= BOOKKEEPING_FIELDS:
        return
    authentication_changed()


def on_migrate(**kwargs) -> None:
    # Data migrations save through historical models, which send no signals above.
    authentication_changed()


def connect(app_config) -> None:
    for model in (ApiToken, AccessKey, Membership, Role, Tenant, get_user_model()):
        post_save.connect(on_change, sender=model, dispatch_uid=f"auth-changed-save-{model}")
        post_delete.connect(on_change, sender=model, dispatch_uid=f"auth-changed-delete-{model}")
    post_migrate.connect(on_migrate, sender=app_config, dispatch_uid="auth-changed-migrate")
