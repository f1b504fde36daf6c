from django.apps import AppConfig
from django.core import checks


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from ops import checks as ops_checks

        checks.register(ops_checks.check_collected_static, checks.Tags.staticfiles, deploy=True)
