"""Routes of the ROMA Connect asset job family; anything else under /v2/ is a ROMA 404."""

from django.urls import re_path

from asset_jobs.views import (
    AssetArchiveUploadView,
    AssetArchiveView,
    AssetDeleteView,
    AssetExportView,
    AssetImportView,
    AssetJobViewSet,
    AssetSettingsView,
    UnknownURLView,
)

# Permissive segments (even empty ones): the views validate ids, so junk or a missing id
# gets a ROMA 400, never a 500.
ASSETS = r"^v2/(?P<project_id>[^/]*)/instances/(?P<instance_id>[^/]*)/assets"

urlpatterns = [
    re_path(
        rf"{ASSETS}/jobs\Z",
        AssetJobViewSet.as_view({"get": "list", "post": "create"}),
        name="asset-job-list",
    ),
    re_path(
        rf"{ASSETS}/jobs/(?P<job_id>[^/]*)\Z",
        AssetJobViewSet.as_view({"get": "retrieve", "put": "update"}),
        name="asset-job-detail",
    ),
    re_path(
        rf"{ASSETS}/jobs/(?P<job_id>[^/]*)/archive\Z",
        AssetArchiveUploadView.as_view(),
        name="asset-job-archive-upload",
    ),
    re_path(
        rf"{ASSETS}/archives/(?P<archive_id>[^/]*)\Z",
        AssetArchiveView.as_view(),
        name="asset-archive-download",
    ),
    re_path(rf"{ASSETS}/import\Z", AssetImportView.as_view(), name="asset-import"),
    re_path(rf"{ASSETS}/export\Z", AssetExportView.as_view(), name="asset-export"),
    re_path(rf"{ASSETS}/delete\Z", AssetDeleteView.as_view(), name="asset-delete"),
    re_path(rf"{ASSETS}/settings\Z", AssetSettingsView.as_view(), name="asset-settings"),
    re_path(r"^v2(?:/[\s\S]*)?\Z", UnknownURLView.as_view(), name="asset-jobs-unknown-url"),
]
