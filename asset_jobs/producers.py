"""ROMA producer routes: create an asset job, report on it, upload an export's package.

`POST .../assets/jobs` (`{"type": ...}`) answers `{"job_id": ...}` as ROMA's import and
export calls do; `PUT .../assets/jobs/{job_id}` reports `progress_percent` and may finish the
job (`status` Success, or Failed with `reasons`); `PUT .../assets/jobs/{job_id}/archive`
takes a zip body and finishes a running export with it. Writes need `ASSET-JOB:WRITE` in the
path's project; a change the job's status does not allow is a 409 naming that status.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files import File
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from asset_jobs.errors import (
    ArchiveTooLarge,
    IdempotencyKeyConflict,
    InvalidParameters,
    JobStatusConflict,
    ResourceNotFound,
    RomaError,
    flatten,
)
from asset_jobs.models import HEX_ID_PATTERN, AssetJob
from asset_jobs.schema import HEX_LENGTH, PROJECT_AND_INSTANCE, RomaErrorSerializer, path_id
from asset_jobs.serializers import AssetJobSerializer
from asset_jobs.services import (
    AssetJobStateError,
    asset_job_create,
    asset_job_fail,
    asset_job_succeed,
    asset_job_update,
)
from asset_jobs.views import AssetJobViewSet, ProjectScopedMixin
from tenancy import idempotency
from tenancy.permissions import Perm
from tenancy.schema import error_responses, header

FAMILY = "asset_jobs"
TAGS = [FAMILY]
REPORT_FIELDS = {"progress_percent", "status", "reasons"}
COPY_CHUNK_SIZE = 64 * 1024
SPOOL_MAX_MEMORY = 8 * 1024 * 1024

# Producers document JSON bodies: one request type per operation keeps generated clients
# simple (the form encodings are accepted too, for curl).
JSON = "application/json"


PRODUCER_STATUSES = (
    HTTPStatus.BAD_REQUEST,
    HTTPStatus.UNAUTHORIZED,
    HTTPStatus.FORBIDDEN,
    HTTPStatus.NOT_FOUND,
    HTTPStatus.CONFLICT,
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
    HTTPStatus.UNPROCESSABLE_ENTITY,
)
PRODUCER_ERRORS = error_responses(RomaErrorSerializer, *PRODUCER_STATUSES)
PRODUCER_REQUEST_ID = header(
    "X-Request-Id",
    "This request's id; error bodies repeat it as `request_id`.",
    HTTPStatus.OK,
    *PRODUCER_STATUSES,
    schema={"type": "string", "pattern": "^[0-9a-f]{32}$"},
)
JOB_ID = path_id("job_id", HEX_ID_PATTERN, "The job's id.", HEX_LENGTH)


def body_object(request: Request, allowed: set[str]) -> dict:
    """Return the JSON body as an object holding only `allowed` keys, at least one."""
    data = request.data
    if not isinstance(data, dict) or not data:
        raise InvalidParameters(f"Give a JSON object with {', '.join(sorted(allowed))}.")
    unknown = set(data) - allowed
    if unknown:
        raise InvalidParameters(f"Unknown fields: {', '.join(sorted(unknown))}.")
    return data


def as_roma_errors(error: Exception) -> RomaError:
    """Return a service error as the ROMA error the producer sees."""
    if isinstance(error, AssetJobStateError):
        return JobStatusConflict(str(error))
    return InvalidParameters(flatten(getattr(error, "message_dict", None) or error.messages))


class WritePermissionMixin:
    """POST and PUT need `ASSET-JOB:WRITE`; reads keep `ASSET-JOB:READ`."""

    @property
    def required_permission(self) -> str:
        # A method the view does not serve keeps READ, so it is answered 405, not 403.
        method = self.request.method
        if method in ("POST", "PUT") and hasattr(self, method.lower()):
            return Perm.ASSET_JOB_WRITE
        return Perm.ASSET_JOB_READ


class AssetJobProducerViewSet(WritePermissionMixin, AssetJobViewSet):
    """Asset job reads, plus a producer's create and report."""

    http_method_names = ["get", "head", "post", "put"]

    @extend_schema(
        operation_id="asset_job_create",
        tags=TAGS,
        parameters=[
            *PROJECT_AND_INSTANCE,
            PRODUCER_REQUEST_ID,
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="Retrying a create with the same key returns the same job.",
            ),
        ],
        request={JSON: inline_serializer("AssetJobCreate", {"type": serializers.CharField()})},
        responses={
            HTTPStatus.OK: inline_serializer("AssetJobId", {"job_id": serializers.CharField()}),
            **PRODUCER_ERRORS,
        },
    )
    def create(self, request: Request, *args, **kwargs) -> Response:
        job_type = body_object(request, {"type"})["type"]
        instance = self.path_instance()
        try:
            outcome = idempotency.create_once(
                tenant=self.tenant,
                family=FAMILY,
                key=idempotency.key_from(request.META),
                digest=idempotency.fingerprint(instance.instance_id, job_type),
                create=lambda: (
                    asset_job_create(instance=instance, type=job_type, user=request.user).pk
                ),
            )
        except (DjangoValidationError, idempotency.InvalidIdempotencyKey) as error:
            raise InvalidParameters(str(getattr(error, "messages", [error])[0])) from None
        except idempotency.IdempotencyKeyReused as error:
            raise IdempotencyKeyConflict(str(error)) from None
        return Response({"job_id": outcome.job_id})

    @extend_schema(
        operation_id="asset_job_report",
        tags=TAGS,
        parameters=[*PROJECT_AND_INSTANCE, JOB_ID, PRODUCER_REQUEST_ID],
        request={
            JSON: inline_serializer(
                "AssetJobReport",
                {
                    "progress_percent": serializers.FloatField(required=False),
                    "status": serializers.CharField(
                        required=False, help_text="Running, Success or Failed."
                    ),
                    "reasons": serializers.ListField(child=serializers.DictField(), required=False),
                },
            )
        },
        responses={HTTPStatus.OK: AssetJobSerializer, **PRODUCER_ERRORS},
    )
    def update(self, request: Request, *args, **kwargs) -> Response:
        job = self.get_object()
        data = body_object(request, REPORT_FIELDS)
        try:
            self.report(job, **data)
        except (AssetJobStateError, DjangoValidationError) as error:
            raise as_roma_errors(error) from None
        job = self.get_object()
        return Response(self.get_serializer(job).data)

    def report(self, job: AssetJob, *, progress_percent=None, status=None, reasons=None) -> None:
        """Report progress, then finish the job if `status` says so."""
        if reasons is not None and status != AssetJob.State.FAILED:
            raise DjangoValidationError({"reasons": "Reasons come with status Failed."})
        if progress_percent is not None:
            asset_job_update(job, progress_percent=progress_percent)
        if status == AssetJob.State.SUCCESS:
            asset_job_succeed(job)
        elif status == AssetJob.State.FAILED:
            asset_job_fail(job, reasons=reasons if reasons is not None else [])
        elif status not in (None, AssetJob.State.RUNNING):
            raise DjangoValidationError({"status": "Use Running, Success or Failed."})


class AssetArchiveUploadView(WritePermissionMixin, ProjectScopedMixin, GenericAPIView):
    """`PUT .../assets/jobs/{job_id}/archive`: a running export succeeds with this zip."""

    http_method_names = ["put"]
    serializer_class = AssetJobSerializer

    @extend_schema(
        tags=TAGS,
        operation_id="asset_archive_upload",
        parameters=[*PROJECT_AND_INSTANCE, JOB_ID, PRODUCER_REQUEST_ID],
        request={"application/zip": OpenApiTypes.BINARY},
        responses={HTTPStatus.OK: AssetJobSerializer, **PRODUCER_ERRORS},
    )
    def put(self, request: Request, *args, **kwargs) -> Response:
        job = self.get_object()
        with self.spooled_body(request) as package:
            try:
                asset_job_succeed(job, archive=File(package, name="package.zip"))
            except (AssetJobStateError, DjangoValidationError) as error:
                raise as_roma_errors(error) from None
        return Response(self.get_serializer(self.get_object()).data)

    def get_object(self) -> AssetJob:
        job_id, instance_id = self.kwargs["job_id"], self.kwargs["instance_id"]
        job = self.jobs().filter(pk=job_id, instance__instance_id=instance_id).first()
        if job is None:
            raise self.instance_not_found() or ResourceNotFound(
                f"No asset job {job_id} in instance {instance_id}."
            )
        return job

    def spooled_body(self, request: Request):
        """Return the body in a temporary file, refusing more than the archive limit or no zip."""
        limit = settings.JOBDESK_MAX_ARCHIVE_BYTES
        declared = request.META.get("CONTENT_LENGTH") or ""
        if declared.isdigit() and int(declared) > limit:
            raise ArchiveTooLarge(f"Upload at most {limit} bytes.")
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_MEMORY)  # noqa: SIM115
        shutil.copyfileobj(LimitedReader(request._request, limit + 1), spool, COPY_CHUNK_SIZE)
        if spool.tell() > limit:
            spool.close()
            raise ArchiveTooLarge(f"Upload at most {limit} bytes.")
        spool.seek(0)
        if not is_readable_zip(spool):
            spool.close()
            raise InvalidParameters("The package must be a .zip archive.")
        return spool


class LimitedReader:
    """A file-like view of `stream` that yields at most `limit` bytes."""

    def __init__(self, stream, limit: int) -> None:
        self.stream, self.left = stream, limit

    def read(self, size: int = -1) -> bytes:
        size = self.left if size < 0 else min(size, self.left)
        chunk = self.stream.read(size) if size else b""
        self.left -= len(chunk)
        return chunk


def is_readable_zip(package) -> bool:
    """Return True if `package` is a zip whose directory can be read (contents not inflated)."""
    try:
        with zipfile.ZipFile(package) as archive:
            archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    finally:
        package.seek(0)
    return True
