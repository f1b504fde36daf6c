"""Traffic Ops producer routes: `POST /api/<v>/async_status` and `PUT .../async_status/:id`.

A create answers like Traffic Ops' own async endpoints: 202, a success alert, and a
`Location` header at `/api/4.0/async_status/<id>` (Traffic Ops always names 4.0 there).
Writes need `ASYNC-STATUS:WRITE` in the job's tenant; another tenant's job is a 404.
"""

from __future__ import annotations

from http import HTTPStatus

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from async_status.errors import (
    BadRequest,
    IdempotencyKeyConflict,
    JobAlreadyFinished,
    PathNotFound,
    alerts,
)
from async_status.models import AsyncStatus
from async_status.schema import (
    INT64,
    SERVED_VERSIONS,
    AsyncStatusResponseSerializer,
    TrafficOpsAlertsSerializer,
    version,
)
from async_status.services import (
    AsyncStatusNotPending,
    async_status_create,
    async_status_finish,
    async_status_update,
)
from async_status.views import AsyncStatusDetailView, AsyncStatusListView, parse_id
from tenancy import idempotency
from tenancy.access import principal_for
from tenancy.permissions import Perm
from tenancy.producers import AmbiguousTenant, producer_tenant
from tenancy.schema import error_responses

FAMILY = "async_status"
TAGS = [FAMILY]
LIST_VERSION = "5.0"
PRODUCER_ERRORS = (
    HTTPStatus.BAD_REQUEST,
    HTTPStatus.UNAUTHORIZED,
    HTTPStatus.FORBIDDEN,
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
)

# Producers document JSON bodies: one request type per operation keeps generated clients
# simple (the form encodings are accepted too, for curl).
JSON = "application/json"


class StrictCharField(serializers.CharField):
    """Text only: numbers and booleans are refused, not turned into strings."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class AsyncStatusCreateSerializer(serializers.Serializer):
    message = StrictCharField(allow_blank=True, trim_whitespace=False)


class AsyncStatusReportSerializer(serializers.Serializer):
    # Text checked below, not a ChoiceField: its enum would clash with the response's.
    status = StrictCharField(
        default=AsyncStatus.State.PENDING, help_text="PENDING, SUCCEEDED or FAILED."
    )
    message = StrictCharField(allow_blank=True, trim_whitespace=False)

    def validate_status(self, value: str) -> str:
        if value not in AsyncStatus.State.values:
            raise serializers.ValidationError("Use PENDING, SUCCEEDED or FAILED.")
        return value


def status_path(job: AsyncStatus) -> str:
    """Return where a job's status is polled, as Traffic Ops' producers write it."""
    return f"/api/4.0/async_status/{job.pk}"


class ProducerPermissionMixin:
    """POST and PUT need `ASYNC-STATUS:WRITE`; reads keep `ASYNC-STATUS:READ`."""

    @property
    def required_permission(self) -> str:
        # A method the view does not serve keeps READ, so it is answered 405, not 403.
        method = self.request.method
        if method in ("POST", "PUT") and hasattr(self, method.lower()):
            return Perm.ASYNC_STATUS_WRITE
        return Perm.ASYNC_STATUS_READ


def validated(serializer_class, request: Request) -> dict:
    """Return the request body validated by `serializer_class`, or raise a 400 alert."""
    body = serializer_class(data=request.data)
    body.is_valid(raise_exception=True)
    return body.validated_data


class AsyncStatusCollectionView(ProducerPermissionMixin, AsyncStatusListView):
    """`GET /api/5.0/async_status` lists; `POST /api/<v>/async_status` records a PENDING job."""

    http_method_names = ["get", "head", "post"]

    def initial(self, request: Request, *args, version: str, **kwargs) -> None:
        # Traffic Ops serves the list from 5.0 on; older versions have no such route.
        if request.method in ("GET", "HEAD") and version != LIST_VERSION:
            raise PathNotFound(request.path)
        super().initial(request, *args, version=version, **kwargs)

    @extend_schema(
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
    def post(self, request: Request, version: str) -> Response:
        data = validated(AsyncStatusCreateSerializer, request)
        try:
            tenant = producer_tenant(principal_for(request), Perm.ASYNC_STATUS_WRITE)
            outcome = idempotency.create_once(
                tenant=tenant,
                family=FAMILY,
                key=idempotency.key_from(request.META),
                digest=idempotency.fingerprint(data),
                create=lambda: str(
                    async_status_create(tenant=tenant, user=request.user, **data).pk
                ),
            )
        except (AmbiguousTenant, idempotency.InvalidIdempotencyKey) as error:
            raise BadRequest(str(error)) from None
        except idempotency.IdempotencyKeyReused as error:
            raise IdempotencyKeyConflict(str(error)) from None
        job = AsyncStatus.objects.for_tenant(tenant).get(pk=int(outcome.job_id))
        text = f"Async job started. Status updates can be found here: {status_path(job)}"
        return Response(
            alerts(text, "success"),
            status=HTTPStatus.ACCEPTED,
            headers={"Location": status_path(job)},
        )


class AsyncStatusResourceView(ProducerPermissionMixin, AsyncStatusDetailView):
    """`GET` shows one job; `PUT` reports its message or finishes it (SUCCEEDED or FAILED)."""

    http_method_names = ["get", "head", "put"]

    @extend_schema(
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
    def put(self, request: Request, version: str, job_id: str) -> Response:
        job = get_object_or_404(self.get_queryset(), pk=parse_id(job_id))
        data = validated(AsyncStatusReportSerializer, request)
        try:
            if data["status"] == AsyncStatus.State.PENDING:
                async_status_update(job, message=data["message"])
            else:
                succeeded = data["status"] == AsyncStatus.State.SUCCEEDED
                async_status_finish(job, succeeded=succeeded, message=data["message"])
        except AsyncStatusNotPending as error:
            raise JobAlreadyFinished(
                f"async status {job.pk} has already finished as {error.status}."
            ) from None
        body = alerts(f"async status {job.pk} updated.", "success")
        return Response({**body, "response": self.get_serializer(job).data})
