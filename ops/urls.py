"""The service's own pages: the landing page and the docs."""

from django.urls import path, re_path

from ops import views

urlpatterns = [
    path("", views.landing, name="landing"),
    re_path(r"^(?P<page>README\.md|docs/.*)$", views.doc_page, name="doc-page"),
]
