"""OpenAPI descriptions of the Traffic Ops views; the wire shapes live in serializers.py."""

from __future__ import annotations

from http import HTTPStatus

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers

from async_status.filters import DEFAULT_LIMIT, MAX_INTEGER, MAX_LIMIT
from async_status.models import AsyncStatus
from async_status.serializers import (
    AsyncStatusCreateSerializer,
    AsyncStatusReportSerializer,
    AsyncStatusSerializer,
)
from jobs.api import JSON
from jobs.schema import NOT_MODIFIED, PRODUCER_ERRORS, error_responses, header, poll_parameters

TAGS = ["async_status"]
SERVED_VERSIONS = ["4.0", "4.1", "5.0"]
ALERT_LEVELS = ["success", "info", "warning", "error"]
INT64 = {"type": "integer", "format": "int64", "minimum": -(2**63), "maximum": 2**63 - 1}


class TrafficOpsAlertSerializer(serializers.Serializer):
    text = serializers.CharField()
    level = serializers.ChoiceField(ALERT_LEVELS)


class TrafficOpsAlertsSerializer(serializers.Serializer):
    """Traffic Ops' alerts envelope: every error, and the login and logout answers."""

    alerts = TrafficOpsAlertSerializer(many=True)


class AsyncStatusResponseSerializer(serializers.Serializer):
    response = AsyncStatusSerializer()


# The page is the whole `response` array: no paginated wrapper around it.
@extend_schema_serializer(many=False)
class AsyncStatusListResponseSerializer(serializers.Serializer):
    response = AsyncStatusSerializer(many=True)


class TrafficOpsLoginSerializer(serializers.Serializer):
    u = serializers.CharField(help_text="Username.")
    p = serializers.CharField(help_text="Password.")


def alerts(description: str) -> OpenApiResponse:
    return OpenApiResponse(TrafficOpsAlertsSerializer, description=description)


def version(*served: str) -> OpenApiParameter:
    return OpenApiParameter(
        "version", str, OpenApiParameter.PATH, enum=list(served), description="API version."
    )


def integer(minimum: int, maximum: int, **extra) -> dict:
    return {"type": "integer", "minimum": minimum, "maximum": maximum, **extra}


WWW_AUTHENTICATE = header(
    "WWW-Authenticate", 'Always `Bearer realm="jobdesk"`.', HTTPStatus.UNAUTHORIZED
)
READ_ERRORS = {
    401: alerts("No or bad credentials: `unauthorized, please log in.`"),
    403: alerts("`missing required Permissions: ASYNC-STATUS:READ`"),
}
LIST_PARAMETERS = [
    OpenApiParameter("status", str, enum=AsyncStatus.State.values),
    OpenApiParameter(
        "startTimeFrom", {"type": "string", "format": "date-time"}, description="Inclusive."
    ),
    OpenApiParameter(
        "startTimeTo", {"type": "string", "format": "date-time"}, description="Exclusive."
    ),
    OpenApiParameter(
        "limit", integer(1, MAX_LIMIT, default=DEFAULT_LIMIT), description="Jobs per page."
    ),
    OpenApiParameter("offset", integer(0, MAX_INTEGER), description="From 0; wins over `page`."),
    OpenApiParameter(
        "page", integer(1, MAX_INTEGER), description="From 1: offset = (page - 1) * limit."
    ),
]

detail_schema = extend_schema(
    operation_id="async_status_retrieve",
    tags=TAGS,
    summary="Show one async status",
    parameters=[
        version(*SERVED_VERSIONS),
        OpenApiParameter("job_id", INT64, OpenApiParameter.PATH, description="The job's id."),
        WWW_AUTHENTICATE,
        *poll_parameters(),
    ],
    responses={
        200: AsyncStatusResponseSerializer,
        **NOT_MODIFIED,
        400: alerts("`getting integer parameters: parameter 'id' not an integer`"),
        **READ_ERRORS,
        404: alerts("No such job in your tenants: `Not Found`"),
    },
)
list_schema = extend_schema(
    operation_id="async_status_list",
    tags=TAGS,
    summary="List the async statuses you may read, newest first (API 5.0)",
    parameters=[version("5.0"), *LIST_PARAMETERS, WWW_AUTHENTICATE],
    responses={
        200: AsyncStatusListResponseSerializer,
        400: alerts("A bad list parameter."),
        **READ_ERRORS,
    },
)
login_schema = extend_schema(
    operation_id="user_login",
    tags=TAGS,
    summary="Log in: sets the session cookie",
    description="The body is read as JSON whatever its `Content-Type`.",
    auth=[],
    parameters=[
        version(*SERVED_VERSIONS),
        header(
            "Retry-After", "Seconds until login is allowed again.", 429, schema={"type": "integer"}
        ),
    ],
    request={"application/json": TrafficOpsLoginSerializer},
    responses={
        200: alerts("`Successfully logged in.`; sets the session cookie."),
        400: alerts("A malformed body or missing fields."),
        401: alerts("`Invalid username or password.`"),
        403: alerts("`cross-origin login requests are refused.` (an `Origin` of another site)"),
        413: alerts("A body over 1 MiB."),
        429: alerts("Too many failed attempts; see `Retry-After`."),
    },
)
logout_schema = extend_schema(
    operation_id="user_logout",
    tags=TAGS,
    summary="Log out: ends the session, if any",
    auth=[],
    parameters=[version(*SERVED_VERSIONS)],
    request=None,
    responses={200: alerts("`You are logged out.`")},
)
create_schema = extend_schema(
    operation_id="async_status_create",
    tags=TAGS,
    parameters=[version(*SERVED_VERSIONS)],
    request={JSON: AsyncStatusCreateSerializer},
    responses={
        HTTPStatus.ACCEPTED: OpenApiResponse(
            TrafficOpsAlertsSerializer, description="Started; `Location` names the status."
        ),
        **error_responses(
            TrafficOpsAlertsSerializer, *PRODUCER_ERRORS, HTTPStatus.UNPROCESSABLE_ENTITY
        ),
    },
)
report_schema = extend_schema(
    operation_id="async_status_report",
    tags=TAGS,
    parameters=[
        version(*SERVED_VERSIONS),
        OpenApiParameter("job_id", INT64, OpenApiParameter.PATH, description="The job's id."),
    ],
    request={JSON: AsyncStatusReportSerializer},
    responses={
        HTTPStatus.OK: AsyncStatusResponseSerializer,
        **error_responses(
            TrafficOpsAlertsSerializer,
            *PRODUCER_ERRORS,
            HTTPStatus.NOT_FOUND,
            HTTPStatus.CONFLICT,
        ),
    },
)
