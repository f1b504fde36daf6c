"""The poll benchmark's long-running operations (`bench/poll.py` loads and polls them)."""

from __future__ import annotations

import json
from datetime import timedelta
from random import Random

from lro.models import CANCELLED_CODE

STATES = {"RUNNING": 0.25, "SUCCEEDED": 0.55, "FAILED": 0.10, "CANCELLED": 0.10}
ERRORS = {
    "FAILED": (8, "The import quota is used up."),
    "CANCELLED": (CANCELLED_CODE, "Operation was cancelled."),
}
COLUMNS = [
    "tenant_id", "state", "metadata", "response", "error_code", "error_message", "created_at",
    "ended_at", "user_id", "updated_at",
]  # fmt: skip


def load(data, count: int) -> None:
    """Write `count` operations over the tenants, in every state."""
    rng = Random(14)  # noqa: S311 - reproducible data, not secrets

    def rows():
        for n in range(count):
            state = data.pick(rng, STATES)
            created = data.now - data.span * rng.random()
            ended = (
                None if state == "RUNNING" else created + timedelta(seconds=rng.randint(1, 3600))
            )
            metadata = json.dumps({"target": f"datasets/{n % 997}", "progressPercent": n % 50})
            response = json.dumps({"rows": n % 997}) if state == "SUCCEEDED" else None
            code, message = ERRORS.get(state, (None, ""))
            yield (rng.choice(data.tenant_ids), state, metadata, response, code, message,
                   created, ended, None, ended or created)  # fmt: skip

    data.copy("lro_operation", COLUMNS, rows())


def polls(cursor, size: int) -> list[tuple[str, int, str]]:
    """Return `size` random operations' paths, with their tenant and credential header."""
    cursor.execute(
        "SELECT o.id, o.tenant_id, t.project_id FROM lro_operation o"
        " JOIN tenancy_tenant t ON t.id = o.tenant_id ORDER BY random() LIMIT %s",
        [size],
    )
    return [
        (f"/v1/projects/{project}/operations/{pk}", tenant, "Authorization")
        for pk, tenant, project in cursor
    ]
