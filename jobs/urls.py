"""jobdesk's own API routes for any family's job (mounted before the families' routes)."""

from django.urls import path, re_path

from jobs import views

urlpatterns = [
    path(
        "api/jobs/<str:family>/<str:job_id>/timeline",
        views.JobTimelineView.as_view(),
        name="job-timeline",
    ),
    re_path(r"^api/jobs(?:/[\s\S]*)?$", views.UnknownPathView.as_view()),
]
