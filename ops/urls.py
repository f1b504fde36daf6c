"""The service's own pages: the landing page, health, readiness, metrics, the docs."""

from django.urls import path, re_path

from ops import views

urlpatterns = [
    path("", views.landing, name="landing"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
    re_path(r"^(?P<page>README\.md|docs/.*)$", views.doc_page, name="doc-page"),
]
