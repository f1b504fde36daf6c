"""jobdesk's routes plus the poll benchmark's reference views, under /bench/ (bench only)."""

from celery_progress.views import get_progress
from django.urls import include, path

from bench import views
from bench.celery_app import app as celery_app  # noqa: F401 - makes it the default Celery app

urlpatterns = [
    path("bench/noop", views.noop, name="bench-noop"),
    path("bench/bare/<int:pk>", views.bare, name="bench-bare"),
    path("bench/celery-progress/<str:task_id>", get_progress, name="bench-celery-progress"),
    path("", include("config.urls")),
]
