"""The poll benchmark's Canvas progress (`bench/poll.py` loads them and polls a sample)."""

from __future__ import annotations

import json
from datetime import timedelta
from random import Random

STATES = {
    "queued": 0.10, "running": 0.15, "waiting_for_external_tool": 0.05,
    "completed": 0.55, "failed": 0.10, "canceled": 0.05,
}  # fmt: skip
COLUMNS = [
    "tenant_id", "context_type", "context_id", "course_id", "user_id", "tag", "completion",
    "workflow_state", "message", "results", "created_at", "updated_at",
]  # fmt: skip


def load(data, count: int) -> None:
    """Write `count` progresses over the tenants, in every state."""
    rng = Random(11)  # noqa: S311 - reproducible data, not secrets
    tenant_ids = data.tenant_ids

    def rows():
        for n in range(count):
            state = data.pick(rng, STATES)
            created = data.now - data.span * rng.random()
            updated = created + timedelta(seconds=rng.randint(0, 3600))
            completion = {"queued": None, "completed": 100.0, "canceled": None}.get(
                state, round(rng.uniform(0, 99), 1)
            )
            message = "Something went wrong." if state == "failed" else None
            results = json.dumps({"rows": n % 997}) if state == "completed" and n % 2 else None
            yield (rng.choice(tenant_ids), "Course", n % 5000, n % 5000, None,
                   "course_batch_update", completion, state, message, results, created,
                   updated)  # fmt: skip

    data.copy("progress_progress", COLUMNS, rows())


def polls(cursor, size: int) -> list[tuple[str, int, str]]:
    """Return `size` random jobs' poll paths, with their tenant and credential header."""
    cursor.execute("SELECT id, tenant_id FROM progress_progress ORDER BY random() LIMIT %s", [size])
    return [(f"/api/v1/progress/{pk}", tenant, "Authorization") for pk, tenant in cursor]
