"""URL routes: the admin, the API docs, the service's own pages, then each job family's routes."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from jobs import dashboard
from jobs.events import EventStreamView
from jobs.registry import families

urlpatterns = [
    # The admin dashboard's numbers as JSON, for refreshing them in place (admin login needed).
    path(
        "admin/jobdesk/dashboard.json",
        admin.site.admin_view(dashboard.data),
        name="jobdesk-dashboard-data",
    ),
    path("admin/", admin.site.urls),
    # Before the families, so no family's catch-all route can shadow the docs.
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(
            url_name="api-schema", title="jobdesk API", template_name="api_docs/swagger_ui.html"
        ),
        name="api-docs",
    ),
    path(
        "api/redoc/",
        SpectacularRedocView.as_view(
            url_name="api-schema", title="jobdesk API", template_name="api_docs/redoc.html"
        ),
        name="api-redoc",
    ),
    path("api/events", EventStreamView.as_view(), name="events"),
    path("", include("ops.urls")),
    # jobdesk's own routes for any family's job (its timeline), under /api/jobs/.
    path("", include("jobs.urls")),
    path("", include("webhooks.urls")),
    # Each family's app answers its own prefixes, catch-alls included, in INSTALLED_APPS order.
    *(path("", include(family.urls_module)) for family in families),
]

# An outage of the database or the cache is a 503 page with Retry-After, never a 500.
handler500 = "ops.views.server_error"
