"""OpenAPI descriptions of the Traffic Ops views; the wire shapes live in serializers.py."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers

from async_status.models import AsyncStatus
from async_status.serializers import AsyncStatusSerializer

TAGS = ["Traffic Ops async status"]


class TrafficOpsAlertSerializer(serializers.Serializer):
    text = serializers.CharField()
    level = serializers.ChoiceField(["success", "info", "warning", "error"])


class TrafficOpsAlertsSerializer(serializers.Serializer):
    alerts = TrafficOpsAlertSerializer(many=True)


class AsyncStatusResponseSerializer(serializers.Serializer):
    response = AsyncStatusSerializer()


class AsyncStatusListResponseSerializer(serializers.Serializer):
    response = AsyncStatusSerializer(many=True)


class TrafficOpsLoginSerializer(serializers.Serializer):
    u = serializers.CharField(help_text="Username.")
    p = serializers.CharField(help_text="Password.")


def alerts(description: str) -> OpenApiResponse:
    return OpenApiResponse(TrafficOpsAlertsSerializer, description=description)


def version(*served: str) -> OpenApiParameter:
    return OpenApiParameter("version", str, OpenApiParameter.PATH, enum=list(served))


READ_ERRORS = {
    401: alerts("No or bad credentials: `unauthorized, please log in.`"),
    403: alerts("`missing required Permissions: ASYNC-STATUS:READ`"),
}
LIST_PARAMETERS = [
    OpenApiParameter("status", str, enum=AsyncStatus.State.values),
    OpenApiParameter("startTimeFrom", OpenApiTypes.DATETIME, description="Inclusive."),
    OpenApiParameter("startTimeTo", OpenApiTypes.DATETIME, description="Exclusive."),
    OpenApiParameter("limit", int, description="1 to 1000, default 100."),
    OpenApiParameter("offset", int, description="From 0; wins over `page`."),
    OpenApiParameter("page", int, description="From 1: offset = (page - 1) * limit."),
]

detail_schema = extend_schema(
    operation_id="getAsyncStatus",
    tags=TAGS,
    parameters=[
        version("4.0", "4.1", "5.0"),
        OpenApiParameter("job_id", OpenApiTypes.INT64, OpenApiParameter.PATH),
    ],
    responses={
        200: AsyncStatusResponseSerializer,
        400: alerts("`getting integer parameters: parameter 'id' not an integer`"),
        **READ_ERRORS,
        404: alerts("No such job in your tenants: `Not Found`"),
    },
)
list_schema = extend_schema(
    operation_id="listAsyncStatuses",
    tags=TAGS,
    parameters=[version("5.0"), *LIST_PARAMETERS],
    responses={
        200: AsyncStatusListResponseSerializer,
        400: alerts("A bad list parameter."),
        **READ_ERRORS,
    },
)
login_schema = extend_schema(
    operation_id="trafficOpsLogin",
    tags=TAGS,
    auth=[],
    parameters=[version("4.0", "4.1", "5.0")],
    request=TrafficOpsLoginSerializer,
    responses={
        200: alerts("`Successfully logged in.`; sets the session cookie."),
        400: alerts("A malformed body or missing fields."),
        401: alerts("`Invalid username or password.`"),
        429: alerts("Too many failed attempts; see `Retry-After`."),
    },
)
logout_schema = extend_schema(
    operation_id="trafficOpsLogout",
    tags=TAGS,
    auth=[],
    parameters=[version("4.0", "4.1", "5.0")],
    request=None,
    responses={200: alerts("`You are logged out.`")},
)
