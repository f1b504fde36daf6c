"""Demo async statuses in every state for each demo tenant, and ready curl lines."""

from __future__ import annotations

from async_status.models import AsyncStatus
from async_status.services import async_status_cancel, async_status_create, async_status_finish
from jobs.demo import DEMO_PASSWORD, DemoContext
from tenancy.models import Tenant

STARTED = "DNSSEC refresh started"
SUCCEEDED = "DNSSEC refresh completed successfully (3 keys were updated)"
FAILED = "ACME renewal failed."
CANCELLED_REASON = "Superseded by a newer renewal."


def demo_job(tenant: Tenant, final_message: str) -> AsyncStatus | None:
    """Return the tenant's demo job that ended with `final_message`, if made already."""
    jobs = AsyncStatus.objects.for_tenant(tenant)
    return jobs.filter(message__endswith=final_message).order_by("pk").first()


def seed_tenant(context: DemoContext, slug: str) -> AsyncStatus:
    """Create the tenant's demo jobs once; return its pending one."""
    tenant, user = context.tenants[slug], context.users[slug, "operations"]
    admin = context.users[slug, "admin"]
    if demo_job(tenant, SUCCEEDED) is None:
        job = async_status_create(tenant=tenant, message=STARTED, user=user)
        async_status_finish(job, succeeded=True, message=SUCCEEDED)
    if demo_job(tenant, FAILED) is None:
        job = async_status_create(tenant=tenant, message="ACME async job has started.", user=user)
        async_status_finish(job, succeeded=False, message=FAILED)
    if demo_job(tenant, CANCELLED_REASON) is None:
        job = async_status_create(tenant=tenant, message="ACME async job has started.", user=user)
        async_status_cancel(job, actor=admin, message=CANCELLED_REASON)
    pending = AsyncStatus.objects.for_tenant(tenant).pending().filter(message=STARTED).first()
    return pending or async_status_create(tenant=tenant, message=STARTED, user=user)


def seed(context: DemoContext) -> list[str]:
    """Seed async statuses for every demo tenant and print how to read them."""
    pending = {slug: seed_tenant(context, slug) for slug in context.tenants}
    base, job = context.base_url, pending["acme"]
    username = context.users["acme", "operations"].get_username()
    login = f'{{"u":"{username}","p":"{DEMO_PASSWORD}"}}'
    return [
        "Traffic Ops async status (acme, operations):",
        f'  curl -H "Authorization: Bearer {context.keys["acme", "operations"]}" '
        f"{base}/api/5.0/async_status/{job.pk}",
        f"  curl -c jar -d '{login}' {base}/api/5.0/user/login && "
        f"curl -b jar {base}/api/5.0/async_status/{job.pk}",
        f"  {list_line(context)}",
    ]


def list_line(context: DemoContext) -> str:
    """Return a curl command listing acme's pending async statuses (it changes nothing)."""
    return (
        f'curl -H "Authorization: Bearer {context.keys["acme", "operations"]}" '
        f"'{context.base_url}/api/5.0/async_status?status=PENDING&limit=10'"
    )
