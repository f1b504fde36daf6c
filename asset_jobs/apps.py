from django.apps import AppConfig


class AssetJobsConfig(AppConfig):
    name = "asset_jobs"
    verbose_name = "ROMA asset jobs"

    def ready(self) -> None:
        from django.core import checks

        from asset_jobs.handlers import check_handlers

        checks.register(check_handlers)
