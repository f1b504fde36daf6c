"""The Celery app behind celery-progress' poll view in the benchmark (results in Redis)."""

from celery import Celery

app = Celery("jobdesk_bench")
app.config_from_object("django.conf:settings", namespace="CELERY")
# celery-progress builds `AsyncResult(task_id)` without an app: make this one the default.
app.set_default()
