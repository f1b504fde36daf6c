"""Canvas producer routes: `POST /api/v1/progress` creates a job, `PUT .../:id` reports on it.

Writes need `PROGRESS:WRITE` in the job's tenant and go through the same services as
everything else; another tenant's job is a 404 and stays unchanged. A change the job's
current state does not allow (completing a cancelled job) is a 409 naming that state.
"""

from __future__ import annotations

from http import HTTPStatus

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from progress.errors import IdempotencyKeyConflict, ProgressStateConflict
from progress.models import Progress
from progress.schema import CanvasErrorsSerializer
from progress.serializers import (
    ProgressCreateSerializer,
    ProgressSerializer,
    ProgressUpdateSerializer,
)
from progress.services import (
    InvalidCompletion,
    TransitionNotAllowed,
    progress_create,
    progress_report,
)
from progress.views import ProgressDetailView, ProgressListView
from tenancy import idempotency
from tenancy.access import principal_for
from tenancy.permissions import Perm
from tenancy.producers import AmbiguousTenant, producer_tenant
from tenancy.schema import error_responses

FAMILY = "progress"
PRODUCER_ERRORS = (
    HTTPStatus.BAD_REQUEST,
    HTTPStatus.UNAUTHORIZED,
    HTTPStatus.FORBIDDEN,
    HTTPStatus.CONFLICT,
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
)

# Producers document JSON bodies: one request type per operation keeps generated clients
# simple (the form encodings are accepted too, for curl).
JSON = "application/json"


class ProducerPermissionMixin:
    """Writes need `PROGRESS:WRITE` (scoped to its tenants); reads keep `PROGRESS:READ`."""

    write_methods = frozenset({"POST", "PUT"})

    @property
    def required_permission(self) -> str:
        # A method the view does not serve keeps READ, so it is answered 405, not 403.
        method = self.request.method
        is_write = method in self.write_methods and hasattr(self, method.lower())
        return Perm.PROGRESS_WRITE if is_write else Perm.PROGRESS_READ

    def get_queryset(self):
        principal = principal_for(self.request)
        return Progress.objects.visible_to(principal, self.required_permission)


class ProgressCollectionView(ProducerPermissionMixin, ProgressListView):
    """`GET /api/v1/progress` lists; `POST` records a new queued job (a producer's create)."""

    def get_queryset(self):
        return super().get_queryset().newest_first()

    @extend_schema(
        operation_id="progress_create",
        tags=[FAMILY],
        request={JSON: ProgressCreateSerializer},
        responses={
            HTTPStatus.CREATED: ProgressSerializer,
            **error_responses(
                CanvasErrorsSerializer, *PRODUCER_ERRORS, HTTPStatus.UNPROCESSABLE_ENTITY
            ),
        },
    )
    def post(self, request: Request, *args, **kwargs) -> Response:
        body = ProgressCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            tenant = producer_tenant(principal_for(request), Perm.PROGRESS_WRITE)
            outcome = idempotency.create_once(
                tenant=tenant,
                family=FAMILY,
                key=idempotency.key_from(request.META),
                digest=idempotency.fingerprint(body.validated_data),
                create=lambda: str(
                    progress_create(tenant=tenant, user=request.user, **body.validated_data).pk
                ),
            )
        except (AmbiguousTenant, idempotency.InvalidIdempotencyKey) as error:
            raise ValidationError(str(error)) from None
        except idempotency.IdempotencyKeyReused as error:
            raise IdempotencyKeyConflict(str(error)) from None
        progress = Progress.objects.for_tenant(tenant).get(pk=int(outcome.job_id))
        return Response(self.get_serializer(progress).data, status=HTTPStatus.CREATED)


class ProgressResourceView(ProducerPermissionMixin, ProgressDetailView):
    """`GET /api/v1/progress/:id` shows; `PUT` reports a job's progress or finishes it."""

    @extend_schema(
        operation_id="progress_report",
        tags=[FAMILY],
        request={JSON: ProgressUpdateSerializer},
        responses={
            HTTPStatus.OK: ProgressSerializer,
            **error_responses(CanvasErrorsSerializer, *PRODUCER_ERRORS, HTTPStatus.NOT_FOUND),
        },
    )
    def put(self, request: Request, *args, **kwargs) -> Response:
        progress = self.get_object()
        body = ProgressUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            progress_report(progress, **body.validated_data)
        except InvalidCompletion as error:
            raise ValidationError({"completion": str(error)}) from None
        except TransitionNotAllowed as error:
            raise ProgressStateConflict(str(error)) from None
        return Response(self.get_serializer(progress).data)
