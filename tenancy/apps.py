from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "tenancy"
    verbose_name = "Tenancy and access"

    def ready(self) -> None:
        from tenancy import (
            schema,  # noqa: F401 - registers the OpenAPI authentication schemes
            signals,
        )

        signals.connect(self)
