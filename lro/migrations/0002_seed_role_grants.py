"""Give the seeded roles the family's default permissions (`OperationFamily` grants)."""

from django.db import migrations

from jobs.roles import grant_to_seeded_roles


class Migration(migrations.Migration):
    dependencies = [("tenancy", "0002_seed_roles"), ("lro", "0001_initial")]

    operations = [
        grant_to_seeded_roles(
            {
                "operations": ["OPERATION:READ", "OPERATION:CANCEL"],
                "read-only": ["OPERATION:READ"],
            }
        )
    ]
