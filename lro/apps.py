from django.apps import AppConfig


class LroConfig(AppConfig):
    name = "lro"
    verbose_name = "Google long-running operations"
