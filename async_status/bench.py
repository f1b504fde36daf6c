"""The poll benchmark's Traffic Ops async statuses (`bench/poll.py` loads and polls them)."""

from __future__ import annotations

from datetime import timedelta
from random import Random

STATES = {"PENDING": 0.30, "SUCCEEDED": 0.60, "FAILED": 0.10}
MESSAGES = {"PENDING": "Running.", "SUCCEEDED": "Done.", "FAILED": "Job failed."}
COLUMNS = ["tenant_id", "status", "message", "start_time", "end_time", "user_id", "updated_at"]


def load(data, count: int) -> None:
    """Write `count` async statuses over the tenants, in every state."""
    rng = Random(12)  # noqa: S311 - reproducible data, not secrets

    def rows():
        for _ in range(count):
            state = data.pick(rng, STATES)
            start = data.now - data.span * rng.random()
            end = None if state == "PENDING" else start + timedelta(seconds=rng.randint(1, 3600))
            yield (rng.choice(data.tenant_ids), state, MESSAGES[state], start, end, None,
                   end or start)  # fmt: skip

    data.copy("async_status_asyncstatus", COLUMNS, rows())


def polls(cursor, size: int) -> list[tuple[str, int, str]]:
    """Return `size` random jobs' poll paths, with their tenant and credential header."""
    cursor.execute(
        "SELECT id, tenant_id FROM async_status_asyncstatus ORDER BY random() LIMIT %s", [size]
    )
    return [(f"/api/5.0/async_status/{pk}", tenant, "Authorization") for pk, tenant in cursor]
