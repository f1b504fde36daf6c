from django.apps import AppConfig


class ProgressConfig(AppConfig):
    name = "progress"
    verbose_name = "Canvas progress"

    def ready(self) -> None:
        from progress import signals

        signals.connect()
