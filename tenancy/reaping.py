"""Settings-driven limits shared by the families' tracked-job implementations."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings


def stuck_timeout(family_name: str, tag: str) -> timedelta:
    """Return how long a job of `tag` may go without a heartbeat before it is reaped."""
    per_tag = settings.JOBDESK_STUCK_JOB_TIMEOUTS.get(family_name, {})
    return timedelta(seconds=per_tag.get(tag, settings.JOBDESK_STUCK_JOB_TIMEOUT))


def shortest_timeout(family_name: str) -> timedelta:
    """Return the shortest timeout of any tag of the family (the reaper's first filter)."""
    per_tag = settings.JOBDESK_STUCK_JOB_TIMEOUTS.get(family_name, {})
    return timedelta(seconds=min([settings.JOBDESK_STUCK_JOB_TIMEOUT, *per_tag.values()]))


def lost_worker_message(timeout: timedelta) -> str:
    """Return the message a reaped job is failed with."""
    seconds = int(timeout.total_seconds())
    return f"The worker running this job was lost: no sign of life for {seconds} seconds."
