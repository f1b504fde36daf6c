"""Indexes behind the admin change list's default ordering and state filter, in every tenant.

A superuser's change list spans all tenants, so the tenant-first indexes of the model cannot
serve its ORDER BY ... LIMIT; these can. Raw SQL keeps them out of the model state, which
the API's code does not depend on.
"""

from django.db import migrations

INDEXES = {
    "asset_job_admin_begin": "asset_jobs_assetjob (begin_time, id)",
    "asset_job_admin_status_begin": "asset_jobs_assetjob (status, begin_time, id)",
    "asset_job_admin_tenant_begin": "asset_jobs_assetjob (tenant_id, begin_time, id)",
}


class Migration(migrations.Migration):
    dependencies = [("asset_jobs", "0001_initial")]

    operations = [
        migrations.RunSQL(
            sql=f"CREATE INDEX {name} ON {columns}",
            reverse_sql=f"DROP INDEX {name}",
        )
        for name, columns in INDEXES.items()
    ]
