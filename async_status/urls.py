"""Traffic Ops routes. Only numeric versions are ours: /api/v1/ and /api/lti/ are Canvas'."""

from django.urls import re_path

from async_status import views

VERSION = r"(?P<version>4\.0|4\.1|5\.0)"

urlpatterns = [
    re_path(
        rf"^api/{VERSION}/async_status/(?P<job_id>[^/]+)$",
        views.AsyncStatusResourceView.as_view(),
        name="async-status-detail",
    ),
    re_path(
        rf"^api/{VERSION}/async_status$",
        views.AsyncStatusCollectionView.as_view(),
        name="async-status-list",
    ),
    re_path(rf"^api/{VERSION}/user/login$", views.LoginView.as_view(), name="async-status-login"),
    re_path(
        rf"^api/{VERSION}/user/logout$", views.LogoutView.as_view(), name="async-status-logout"
    ),
    # Last: any other path under a numeric version, so it never answers Django's HTML 404.
    re_path(
        r"^api/(?P<version>[0-9][^/]*)(?:/[\s\S]*)?$",
        views.UnknownPathView.as_view(),
        name="async-status-unknown-path",
    ),
]
