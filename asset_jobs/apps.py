from django.apps import AppConfig


class AssetJobsConfig(AppConfig):
    name = "asset_jobs"
    verbose_name = "ROMA asset jobs"
