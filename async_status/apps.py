from django.apps import AppConfig


class AsyncStatusConfig(AppConfig):
    name = "async_status"
    verbose_name = "Traffic Ops async status"
