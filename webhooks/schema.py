"""How the webhooks API appears in the OpenAPI schema: its operations, errors and tag."""

from __future__ import annotations

from http import HTTPStatus

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view

from jobs.api import JSON
from jobs.schema import error_responses

TAG = {
    "name": "webhooks",
    "description": "A tenant's webhook endpoints: signed POSTs of its jobs' changes.",
}
READ_ERRORS = (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN)


def webhook_tag(result: dict, generator, request, public) -> dict:
    """Describe the webhooks tag after the families' and the core's (a postprocessing hook)."""
    result["tags"] = [*result.get("tags", []), TAG]
    return result


ENDPOINT_ID = OpenApiParameter(
    "id",
    {"type": "string", "pattern": "^[0-9]{1,19}$"},
    OpenApiParameter.PATH,
    description="The endpoint's id.",
)


def operation(operation_id: str, summary: str, *statuses: HTTPStatus, **kwargs):
    """Describe one operation of the endpoints API, with its error body for `statuses`."""
    from webhooks.serializers import WebhookErrorSerializer

    responses = kwargs.pop("responses", {})
    errors = error_responses(WebhookErrorSerializer, *READ_ERRORS, *statuses)
    return extend_schema(
        operation_id=operation_id,
        tags=[TAG["name"]],
        summary=summary,
        responses={**responses, **errors},
        **kwargs,
    )


def endpoint_schema(view_class):
    """Describe `webhooks.views.EndpointViewSet`."""
    from webhooks.serializers import CreatedEndpointSerializer, EndpointSerializer

    found, invalid = HTTPStatus.NOT_FOUND, HTTPStatus.BAD_REQUEST
    one = {"parameters": [ENDPOINT_ID]}
    # JSON bodies only, as the families' producers document them (form bodies work too).
    body = {"request": {JSON: EndpointSerializer}}
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
            invalid,
            responses={201: CreatedEndpointSerializer},
            **body,
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
            description="Another tenant's endpoint is a 404, as one that does not exist.",
            **one,
        ),
        update=operation(
            "webhook_endpoint_update",
            "Replace a webhook endpoint",
            found,
            invalid,
            responses={200: EndpointSerializer},
            description="Needs WEBHOOK:WRITE in the endpoint's tenant.",
            **one,
            **body,
        ),
        partial_update=operation(
            "webhook_endpoint_partial_update",
            "Change a webhook endpoint",
            found,
            invalid,
            responses={200: EndpointSerializer},
            description=(
                "Needs WEBHOOK:WRITE in the endpoint's tenant. Turning `is_active` on again "
                "clears `disabled_reason`."
            ),
            **one,
            request={JSON: EndpointSerializer(partial=True)},
        ),
        destroy=operation(
            "webhook_endpoint_destroy",
            "Remove a webhook endpoint and its delivery log",
            found,
            responses={204: None},
            description="Needs WEBHOOK:WRITE in the endpoint's tenant.",
            **one,
        ),
    )(view_class)
