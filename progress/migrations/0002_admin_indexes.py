"""Indexes behind the admin change list's default ordering and state filter, in every tenant.

A superuser's change list spans all tenants, so the tenant-first indexes of the model cannot
serve its ORDER BY ... LIMIT; these can. Raw SQL keeps them out of the model state, which
the API's code does not depend on.
"""

from django.db import migrations

INDEXES = {
    "progress_admin_created": "progress_progress (created_at, id)",
    "progress_admin_state_created": "progress_progress (workflow_state, created_at, id)",
}


class Migration(migrations.Migration):
    dependencies = [("progress", "0001_initial")]

    operations = [
        migrations.RunSQL(
            sql=f"CREATE INDEX {name} ON {columns}",
            reverse_sql=f"DROP INDEX {name}",
        )
        for name, columns in INDEXES.items()
    ]
