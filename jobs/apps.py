from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.core import checks
from django.utils.module_loading import autodiscover_modules


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Jobs"

    def ready(self) -> None:
        from jobs import checks as job_checks
        from jobs import schema

        # Each family app's `family.py` registers its family, as `admin.py` registers admins.
        autodiscover_modules("family")
        schema.register_family_enums()
        checks.register(job_checks.check_families, checks.Tags.models)


class JobdeskAdminConfig(admin_apps.AdminConfig):
    """Django's admin, served by jobdesk's site (a throttled login, no NUL in URLs)."""

    default = False  # `jobs` itself is JobsConfig; settings name this one explicitly
    default_site = "jobs.admin_site.JobdeskAdminSite"
