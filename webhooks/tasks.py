"""The task that sends webhook deliveries, in a task worker (`manage.py task_worker`)."""

from __future__ import annotations

from django_tasks import task

from webhooks import services


@task()
def deliver(delivery_ids: list[int]) -> None:
    """Make the due attempt of each delivery (one that is not due, or done, is skipped)."""
    for delivery_id in delivery_ids:
        services.delivery_attempt(delivery_id)
