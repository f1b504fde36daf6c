"""The poll benchmark's reference server: celery-progress' poll view beside jobdesk's routes.

celery-progress runs in a server of its own (`bench.celery_settings`), so that Celery, which
jobdesk does not use, is in the memory of that server's workers only, as in a project built
on Celery; its requests go through the same settings and middleware as jobdesk's.
"""

from celery_progress.views import get_progress
from django.urls import include, path

from bench.celery_app import app as celery_app  # noqa: F401 - makes it the default Celery app

urlpatterns = [
    path("bench/celery-progress/<str:task_id>", get_progress, name="bench-celery-progress"),
    path("", include("bench.urls")),
]
