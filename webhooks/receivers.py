"""What the webhooks app hears from the job core: every change published after its commit."""

from __future__ import annotations

from jobs.watch import JobChange
from webhooks.services import deliveries_enqueue


def enqueue_deliveries(sender, *, change: JobChange, **kwargs) -> None:
    """Enqueue the deliveries of a committed change (`jobs.watch.change_published`)."""
    deliveries_enqueue(change)
