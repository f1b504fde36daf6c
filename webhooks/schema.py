"""How the webhooks API appears in the OpenAPI schema: its operations, errors and tag."""

from __future__ import annotations

from http import HTTPStatus

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view

from jobs.schema import error_responses

TAG = {
    "name": "webhooks",
    "description": "A tenant's webhook endpoints: signed POSTs of its jobs' changes.",
}
READ_ERRORS = (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN)
INVALID = {
    int(HTTPStatus.BAD_REQUEST): OpenApiResponse(
        OpenApiTypes.OBJECT,
        description="The body does not validate: `detail`, or a list of messages per field.",
    )
}


def webhook_tag(result: dict, generator, request, public) -> dict:
    """Describe the webhooks tag after the families' and the core's (a postprocessing hook)."""
    result["tags"] = [*result.get("tags", []), TAG]
    return result


def operation(operation_id: str, summary: str, *statuses: HTTPStatus, **kwargs):
    """Describe one operation of the endpoints API, with jobdesk's errors for `statuses`."""
    from jobs.serializers import JobdeskErrorSerializer

    responses = kwargs.pop("responses", {})
    return extend_schema(
        operation_id=operation_id,
        tags=[TAG["name"]],
        summary=summary,
        responses={**responses, **error_responses(JobdeskErrorSerializer, *READ_ERRORS, *statuses)},
        **kwargs,
    )


def endpoint_schema(view_class):
    """Describe `webhooks.views.EndpointViewSet`."""
    from webhooks.serializers import CreatedEndpointSerializer, EndpointSerializer

    found = HTTPStatus.NOT_FOUND
    return extend_schema_view(
        list=operation(
            "webhook_endpoint_list",
            "List the webhook endpoints",
            responses={200: EndpointSerializer(many=True)},
            description="The endpoints of the tenants where you hold WEBHOOK:READ.",
        ),
        create=operation(
            "webhook_endpoint_create",
            "Register a webhook endpoint",
            responses={201: CreatedEndpointSerializer, **INVALID},
            description=(
                "Needs WEBHOOK:WRITE; the endpoint belongs to your token's tenant. The answer "
                "holds the signing `secret`, shown this once."
            ),
        ),
        retrieve=operation(
            "webhook_endpoint_retrieve",
            "Read a webhook endpoint",
            found,
            responses={200: EndpointSerializer},
        ),
        update=operation(
            "webhook_endpoint_update",
            "Replace a webhook endpoint",
            found,
            responses={200: EndpointSerializer, **INVALID},
        ),
        partial_update=operation(
            "webhook_endpoint_partial_update",
            "Change a webhook endpoint",
            found,
            responses={200: EndpointSerializer, **INVALID},
            description="Turning `is_active` on again clears `disabled_reason`.",
        ),
        destroy=operation(
            "webhook_endpoint_destroy",
            "Remove a webhook endpoint and its delivery log",
            found,
            responses={204: None},
        ),
    )(view_class)
