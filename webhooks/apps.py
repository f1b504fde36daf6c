from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from jobs.watch import change_published
        from webhooks import permissions, receivers

        permissions.register()
        change_published.connect(receivers.enqueue_deliveries, dispatch_uid="webhooks")
