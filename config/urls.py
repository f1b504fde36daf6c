"""URL routes: the admin, then each API family's own routes."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("progress.urls")),
    path("", include("async_status.urls")),
    path("", include("asset_jobs.urls")),
]
