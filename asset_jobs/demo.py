"""Demo data for the ROMA family: an instance per demo tenant with jobs in every state."""

from __future__ import annotations

import io
import json
import zipfile

from asset_jobs.models import AssetJob, Instance
from asset_jobs.services import (
    asset_archive_claim,
    asset_job_create,
    asset_job_fail,
    asset_job_succeed,
    asset_job_update,
    instance_create,
)
from jobs.demo import DemoContext
from tenancy.models import Tenant

DEMO_INSTANCE_ID = "roma-demo-instance"
State, Type = AssetJob.State, AssetJob.Type
DEMO_REASON = {
    "resource_type": "application",
    "resource_name": "myApp",
    "error_code": "ROMA.00000101",
    "error_msg": "The application's data source is unreachable.",
}


def demo_package(tenant: Tenant) -> bytes:
    """Return a small, real zip: what an asset export of the demo tenant could contain."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        manifest = {"tenant": tenant.slug, "apps": ["myApp"], "tasks": ["nightly-sync"]}
        archive.writestr("manifest.json", json.dumps(manifest, indent=2))
        archive.writestr("apps/myApp.json", json.dumps({"name": "myApp", "version": 1}))
    return buffer.getvalue()


def demo_instance(tenant: Tenant) -> Instance:
    """Return the tenant's demo instance, creating it the first time."""
    existing = Instance.objects.for_tenant(tenant).filter(instance_id=DEMO_INSTANCE_ID).first()
    return existing or instance_create(
        tenant=tenant, instance_id=DEMO_INSTANCE_ID, name=f"{tenant.name} ROMA Connect"
    )


def ensure_job(instance: Instance, state: str, job_type: str) -> AssetJob:
    """Return a demo job of `job_type` in `state`, making one only if none exists yet."""
    jobs = AssetJob.objects.for_tenant(instance.tenant).filter(instance=instance)
    existing = jobs.filter(status=state, type=job_type).first()
    if existing is not None:
        return existing
    job = asset_job_create(instance=instance, type=job_type)
    if state == State.RUNNING:
        asset_job_update(job, progress_percent=0.35)
    elif state == State.FAILED:
        asset_job_fail(job, reasons=[DEMO_REASON])
    elif job_type == Type.EXPORT:
        asset_job_succeed(job, archive=demo_package(instance.tenant))
        if state == State.FINISHED:
            asset_archive_claim(job=job).file.close()
    else:
        asset_job_succeed(job)
    return job


def seed(context: DemoContext) -> list[str]:
    """Make each demo tenant's instance and jobs; return ready curl lines for acme."""
    ready = {}
    for slug, tenant in context.tenants.items():
        instance = demo_instance(tenant)
        ensure_job(instance, State.RUNNING, Type.IMPORT)
        ensure_job(instance, State.FAILED, Type.IMPORT)
        ensure_job(instance, State.SUCCESS, Type.DELETE)
        ensure_job(instance, State.FINISHED, Type.EXPORT)
        ready[slug] = ensure_job(instance, State.SUCCESS, Type.EXPORT)
    return curl_lines(context, ready["acme"])


def curl_lines(context: DemoContext, export: AssetJob) -> list[str]:
    """Return curl commands reading acme's export job and downloading its package once."""
    key = context.keys["acme", "operations"]
    base = f"{context.base_url}/v2/{export.tenant.project_id}/instances/{DEMO_INSTANCE_ID}/assets"
    return [
        "ROMA Connect asset jobs (acme, operations key):",
        f'  curl -H "X-Auth-Token: {key}" {base}/jobs/{export.pk}',
        f"  {list_line(context)}",
        f'  curl -OJ -H "X-Auth-Token: {key}" {base}/archives/{export.archive_id}'
        "   # once only; `manage.py demo` makes a fresh package",
        f'  curl -X POST -H "X-Auth-Token: {context.keys["acme", "admin"]}" '
        f"-H 'Content-Type: application/json' "
        f"""-d '{{"apps": [{{"id": "myApp"}}], "tasks": []}}' {base}/export"""
        "   # starts an export (make run's demo handlers)",
    ]


def list_line(context: DemoContext) -> str:
    """Return a curl command listing acme's running asset jobs (it changes nothing)."""
    key = context.keys["acme", "operations"]
    project_id = context.tenants["acme"].project_id
    base = f"{context.base_url}/v2/{project_id}/instances/{DEMO_INSTANCE_ID}/assets"
    return f'curl -H "X-Auth-Token: {key}" "{base}/jobs?status=Running&limit=10"'
