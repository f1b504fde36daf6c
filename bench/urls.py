"""jobdesk's routes plus the poll benchmark's reference views, under /bench/ (bench only)."""

from django.urls import include, path

from bench import views

urlpatterns = [
    path("bench/noop", views.noop, name="bench-noop"),
    path("bench/bare/<int:pk>", views.bare, name="bench-bare"),
    path("", include("config.urls")),
]
