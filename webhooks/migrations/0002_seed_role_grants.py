"""Give the seeded roles the webhook permissions (`webhooks.permissions.SEEDED_ROLE_GRANTS`)."""

from django.db import migrations

from jobs.roles import grant_to_seeded_roles


class Migration(migrations.Migration):
    dependencies = [("tenancy", "0002_seed_roles"), ("webhooks", "0001_initial")]

    operations = [grant_to_seeded_roles({"operations": ["WEBHOOK:READ"]})]
