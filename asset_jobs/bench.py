"""The poll benchmark's ROMA asset jobs (`bench/poll.py` loads and polls them): one instance
per tenant, jobs in every status, failure reasons for the failed ones."""

from __future__ import annotations

import uuid
from datetime import timedelta
from random import Random

from asset_jobs.models import Instance

STATES = {"Running": 0.25, "Success": 0.50, "Failed": 0.15, "Finished": 0.10}
TYPES = ["importAsset", "exportAsset", "deleteAsset"]
JOB_COLUMNS = [
    "id", "tenant_id", "instance_id", "type", "status", "progress_percent", "begin_time",
    "end_time", "updated_at", "exclusive",
]  # fmt: skip
REASON_COLUMNS = ["job_id", "resource_type", "resource_name", "error_code", "error_msg"]


def load(data, count: int) -> None:
    """Write an instance per tenant and `count` asset jobs (with reasons) over them."""
    instances = Instance.objects.across_tenants().bulk_create(
        [Instance(tenant=t, instance_id=f"roma-{t.slug}", name="ROMA bench") for t in data.tenants]
    )
    instance_pks = {i.tenant_id: i.pk for i in instances}
    rng = Random(13)  # noqa: S311 - reproducible data, not secrets
    reasons: list[tuple] = []

    def rows():
        for _ in range(count):
            state, tenant_id = data.pick(rng, STATES), rng.choice(data.tenant_ids)
            job_id = uuid.UUID(int=rng.getrandbits(128)).hex
            begin = data.now - data.span * rng.random()
            end = None if state == "Running" else begin + timedelta(seconds=rng.randint(1, 3600))
            percent = round(rng.random(), 2) if state in ("Running", "Failed") else 1.0
            job_type = "exportAsset" if state == "Finished" else rng.choice(TYPES)
            if state == "Failed":
                for n in range(rng.randint(1, 3)):
                    kind = rng.choice(["application", "task"])
                    reasons.append((job_id, kind, f"{kind}-{n}", "ROMA.00110002", "Bad asset."))
            yield (job_id, tenant_id, instance_pks[tenant_id], job_type, state, percent, begin,
                   end, end or begin, False)  # fmt: skip

    data.copy("asset_jobs_assetjob", JOB_COLUMNS, rows())
    data.copy("asset_jobs_assetjobreason", REASON_COLUMNS, reasons)


def polls(cursor, size: int) -> list[tuple[str, int, str]]:
    """Return `size` random jobs' poll paths, with their tenant and credential header."""
    cursor.execute(
        "SELECT j.id, j.tenant_id, t.project_id, i.instance_id FROM asset_jobs_assetjob j"
        " JOIN asset_jobs_instance i ON i.id = j.instance_id"
        " JOIN tenancy_tenant t ON t.id = j.tenant_id ORDER BY random() LIMIT %s",
        [size],
    )
    return [
        (f"/v2/{project}/instances/{instance}/assets/jobs/{pk}", tenant, "X-Auth-Token")
        for pk, tenant, project, instance in cursor
    ]
