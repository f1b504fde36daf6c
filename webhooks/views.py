"""`/api/webhooks/endpoints`: a tenant's webhook endpoints, listed, registered, changed, removed.

Order of checks, as everywhere: authenticate (401), hold WEBHOOK:READ (reads) or
WEBHOOK:WRITE (changes) in some tenant (403), find the endpoint among the tenants where it is
held (404: another tenant's endpoint does not exist). A new endpoint belongs to the one tenant
where the principal may write (a token's own). Errors are jobdesk's own `{"detail": ...}`,
with `fields` (the messages by field) for a body that does not validate.
"""

from __future__ import annotations

from http import HTTPStatus

from rest_framework import mixins, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler

from jobs.api import PrivateResponsesMixin, parse_id
from jobs.errors import normalize
from jobs.producers import producer_tenant
from tenancy.access import principal_for
from webhooks import permissions, services
from webhooks.models import Endpoint
from webhooks.schema import endpoint_schema
from webhooks.serializers import CreatedEndpointSerializer, EndpointSerializer

READ_METHODS = ("GET", "HEAD", "OPTIONS")


def webhooks_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's answers as `{"detail": ...}` (and `fields` for a body that does not validate),
    and the core's client errors (several tenants to write in) as a 400."""
    response = exception_handler(normalize(exc) or exc, context)
    if response is not None:
        data = response.data
        if isinstance(data, list):
            response.data = {"detail": " ".join(messages(data))}
        elif "detail" not in data:
            detail = "; ".join(
                f"{name}: {' '.join(messages(value))}" for name, value in data.items()
            )
            response.data = {"detail": detail, "fields": data}
    return response


def messages(errors) -> list[str]:
    """Return every message of DRF's nested errors (lists, and dicts by field or index)."""
    if isinstance(errors, dict):
        errors = list(errors.values())
    if isinstance(errors, list):
        return [message for error in errors for message in messages(error)]
    return [str(errors)]


def required_permission(request: Request) -> str:
    return permissions.READ if request.method in READ_METHODS else permissions.WRITE


class WebhookPermission(BasePermission):
    """Allow principals holding the method's webhook permission in at least one tenant."""

    def has_permission(self, request, view) -> bool:
        return principal_for(request).holds_anywhere(required_permission(request))


@endpoint_schema
class EndpointViewSet(
    PrivateResponsesMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """A tenant's webhook endpoints (see the module docstring)."""

    permission_classes = [IsAuthenticated, WebhookPermission]
    serializer_class = EndpointSerializer
    pagination_class = None

    def get_exception_handler(self):
        return webhooks_exception_handler

    def get_queryset(self):
        principal = principal_for(self.request)
        return Endpoint.objects.visible_to(principal, required_permission(self.request))

    def get_object(self) -> Endpoint:
        pk = parse_id(self.kwargs["pk"])
        endpoint = None if pk is None else self.get_queryset().filter(pk=pk).first()
        if endpoint is None:
            raise NotFound("No such webhook endpoint.")
        return endpoint

    def create(self, request: Request, *args, **kwargs) -> Response:
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        tenant = producer_tenant(principal_for(request), permissions.WRITE)
        endpoint, secret = services.endpoint_create(tenant=tenant, **body.validated_data)
        endpoint.secret = secret
        return Response(CreatedEndpointSerializer(endpoint).data, status=HTTPStatus.CREATED)

    def perform_update(self, serializer) -> None:
        services.endpoint_update(serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance: Endpoint) -> None:
        services.endpoint_delete(instance)
