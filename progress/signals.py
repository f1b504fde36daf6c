"""Keep progress snapshots true when a user goes: Canvas shows `user_id`, which becomes null."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models.signals import pre_delete

from progress.family import family
from progress.models import Progress


def on_user_delete(sender, instance, **kwargs) -> None:
    # Deletion nulls `Progress.user` with a bulk UPDATE that sends no Progress signal.
    job_ids = Progress.objects.across_tenants().filter(user=instance).values_list("pk", flat=True)
    family.snapshots.changed(*job_ids)


def connect() -> None:
    pre_delete.connect(on_user_delete, sender=get_user_model(), dispatch_uid="progress-user-gone")
