"""Demo operations in every state for each demo tenant, and ready curl lines."""

from __future__ import annotations

from jobs.demo import DemoContext
from lro.models import Operation
from lro.services import (
    operation_cancel,
    operation_create,
    operation_fail,
    operation_finish,
)
from tenancy.models import Tenant

RESOURCE_EXHAUSTED = 8
# Each demo operation is told apart by its metadata's `demo` key.
DEMO_KEY = "demo"


def demo_operation(tenant: Tenant, label: str) -> Operation | None:
    """Return the tenant's demo operation labelled `label`, if made already."""
    operations = Operation.objects.for_tenant(tenant).select_related("tenant")
    return operations.filter(**{f"metadata__{DEMO_KEY}": label}).order_by("pk").first()


def seed_tenant(context: DemoContext, slug: str) -> dict[str, Operation]:
    """Create the tenant's demo operations once; return them by label."""
    tenant, user = context.tenants[slug], context.users[slug, "admin"]

    def make(label: str, **metadata) -> tuple[Operation, bool]:
        found = demo_operation(tenant, label)
        if found is not None:
            return found, False
        op = operation_create(tenant=tenant, user=user, metadata={DEMO_KEY: label, **metadata})
        return op, True

    running, _ = make("running", target="datasets/sales-2026", progressPercent=40)
    succeeded, new = make("succeeded", target="datasets/sales-2025")
    if new:
        operation_finish(succeeded, response={"rowsImported": 1250, "warnings": []})
    failed, new = make("failed", target="datasets/huge")
    if new:
        operation_fail(failed, code=RESOURCE_EXHAUSTED, message="The import quota is used up.")
    cancelled, new = make("cancelled", target="datasets/old")
    if new:
        operation_cancel(cancelled, actor=context.users[slug, "operations"])
    return {"running": running, "succeeded": succeeded, "failed": failed, "cancelled": cancelled}


def seed(context: DemoContext) -> list[str]:
    """Seed operations for every demo tenant and print how to read them."""
    made = {slug: seed_tenant(context, slug) for slug in context.tenants}
    base, acme = context.base_url, made["acme"]
    auth = f'-H "Authorization: Bearer {context.keys["acme", "operations"]}"'
    return [
        "Google long-running operations (acme, operations):",
        f"  curl {auth} {base}/v1/{acme['running'].name}",
        f"  curl {auth} {base}/v1/{acme['succeeded'].name}",
        f"  {list_line(context)}",
        f"  curl {auth} -X POST -H 'Content-Type: application/json' -d '{{\"timeout\": \"5s\"}}' "
        f"{base}/v1/{acme['succeeded'].name}:wait",
        f"  curl {auth} -X POST {base}/v1/{acme['running'].name}:cancel",
    ]


def list_line(context: DemoContext) -> str:
    """Return a curl command listing acme's running operations (it changes nothing)."""
    project = context.tenants["acme"].project_id
    return (
        f'curl -H "Authorization: Bearer {context.keys["acme", "operations"]}" '
        f"'{context.base_url}/v1/projects/{project}/operations?filter=done=false&pageSize=10'"
    )
