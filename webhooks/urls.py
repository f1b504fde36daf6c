"""The webhooks API, under /api/webhooks/."""

from django.urls import path

from webhooks.views import EndpointViewSet

urlpatterns = [
    path(
        "api/webhooks/endpoints",
        EndpointViewSet.as_view({"get": "list", "post": "create"}),
        name="webhook-endpoints",
    ),
    path(
        "api/webhooks/endpoints/<str:pk>",
        EndpointViewSet.as_view(
            {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}
        ),
        name="webhook-endpoint",
    ),
]
