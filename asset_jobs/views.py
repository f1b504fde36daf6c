"""ROMA Connect asset job endpoints under `/v2/{project_id}/instances/{instance_id}/assets/`.

Reads: a job by id (CheckAssetJobStatus), a list, a package download (DownloadAssetArchive).
Producers: `POST .../assets/jobs` (`{"type": ...}`) answers `{"job_id": ...}` as ROMA's
import and export calls do; `PUT .../assets/jobs/{job_id}` reports `progress_percent` and may
finish the job (`status` Success, or Failed with `reasons`); `PUT .../jobs/{job_id}/archive`
takes a zip body and finishes a running export with it.

Order of checks: authenticate (401), hold the permission the method needs somewhere (403:
ASSET-JOB:READ to read, ASSET-JOB:WRITE to write), well-formed path parameters (400), the
project belongs to a tenant where the principal holds it (403, the same answer whether or not
the project exists), then the instance and the job or package inside that tenant (404). A
change the job's status does not allow is a 409 naming that status.
"""

from __future__ import annotations

import re
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files import File
from django.http import FileResponse, HttpResponse
from django.utils.functional import cached_property
from drf_spectacular.utils import extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from asset_jobs.archives import is_readable_zip, read_upload
from asset_jobs.errors import (
    ArchiveTooLarge,
    InstanceNotFound,
    InvalidParameters,
    InvalidRequestURL,
    ResourceNotFound,
    flatten,
    roma_exception_handler,
)
from asset_jobs.family import family
from asset_jobs.filters import AssetJobFilter, OffsetLimitPagination
from asset_jobs.models import HEX_ID_PATTERN, ROMA_ID_PATTERN, AssetJob, Instance
from asset_jobs.schema import (
    asset_archive_download_schema,
    asset_archive_upload_schema,
    asset_job_create_schema,
    asset_job_list_schema,
    asset_job_report_schema,
    asset_job_retrieve_schema,
)
from asset_jobs.serializers import AssetJobSerializer
from asset_jobs.services import (
    asset_archive_claim,
    asset_job_create,
    asset_job_fail,
    asset_job_succeed,
    asset_job_update,
)
from jobs.api import FamilyAPIMixin, PrivateResponsesMixin, create_once
from jobs.polling import CachedPollMixin
from jobs.transitions import TransitionRefused
from tenancy.access import principal_for
from tenancy.models import Tenant

MAX_PATH_PARAMETER_LENGTH = 64
REPORT_FIELDS = {"progress_percent", "status", "reasons"}
PATH_PARAMETERS = {
    "project_id": (re.compile(ROMA_ID_PATTERN), "letters, digits, '-' or '_'"),
    "instance_id": (re.compile(ROMA_ID_PATTERN), "letters, digits, '-' or '_'"),
    "job_id": (re.compile(HEX_ID_PATTERN), "32 lowercase hex characters"),
    "archive_id": (re.compile(HEX_ID_PATTERN), "32 lowercase hex characters"),
}


def check_path_parameters(kwargs: dict[str, str]) -> None:
    """Refuse empty, over-long or malformed path parameters with ROMA.13000."""
    for name, value in kwargs.items():
        pattern, expected = PATH_PARAMETERS[name]
        if not value:
            raise InvalidParameters(f"{name} is missing.")
        if len(value) > MAX_PATH_PARAMETER_LENGTH:
            raise InvalidParameters(
                f"{name} is longer than {MAX_PATH_PARAMETER_LENGTH} characters."
            )
        if not pattern.fullmatch(value):
            raise InvalidParameters(f"{name} must be {expected}.")


class RomaEnvelopeMixin(PrivateResponsesMixin):
    """Give every response a request id (`X-Request-Id`) and every error the ROMA envelope."""

    @cached_property
    def request_id(self) -> str:
        return uuid.uuid4().hex

    def get_exception_handler(self):
        return roma_exception_handler

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["X-Request-Id"] = self.request_id
        return response


class ProjectScopedMixin(FamilyAPIMixin, RomaEnvelopeMixin):
    """Resolve `project_id` to a tenant where the principal may act, and look up inside it."""

    family = family
    tenant: Tenant

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        check_path_parameters(self.kwargs)
        self.tenant = self.permitted_tenant(self.kwargs["project_id"])

    def permitted_tenant(self, project_id: str) -> Tenant:
        """Return the tenant of `project_id` if the principal may read asset jobs there."""
        principal = principal_for(self.request)
        if principal.token is not None:
            # The token's tenant came with the token; no query, and no other project.
            tenant = principal.token.tenant
            tenant = tenant if tenant.project_id == project_id else None
        else:
            tenant = Tenant.objects.filter(project_id=project_id, is_active=True).first()
        if tenant is None or not principal.holds(self.required_permission, tenant):
            raise PermissionDenied(f"You may not read asset jobs of project {project_id}.")
        return tenant

    def jobs(self):
        """Return the asset jobs of the path's project where the principal may act."""
        return self.permitted_jobs().filter(tenant=self.tenant).select_related("instance")

    def instance_not_found(self) -> InstanceNotFound | None:
        """Return the error for an unknown instance of the path's project, else None."""
        instance_id = self.kwargs["instance_id"]
        if Instance.objects.for_tenant(self.tenant).filter(instance_id=instance_id).exists():
            return None
        return self.unknown_instance()

    def unknown_instance(self) -> InstanceNotFound:
        return InstanceNotFound(f"No instance {self.kwargs['instance_id']} in this project.")


def body_object(request: Request, allowed: set[str]) -> dict:
    """Return the JSON body as an object holding only `allowed` keys, at least one."""
    data = request.data
    if not isinstance(data, dict) or not data:
        raise InvalidParameters(f"Give a JSON object with {', '.join(sorted(allowed))}.")
    unknown = set(data) - allowed
    if unknown:
        raise InvalidParameters(f"Unknown fields: {', '.join(sorted(unknown))}.")
    return data


def invalid_parameters(error: DjangoValidationError) -> InvalidParameters:
    """Return a service's validation error as ROMA's invalid-parameters error."""
    return InvalidParameters(flatten(getattr(error, "message_dict", None) or error.messages))


@extend_schema_view(
    list=asset_job_list_schema,
    retrieve=asset_job_retrieve_schema,
    create=asset_job_create_schema,
    update=asset_job_report_schema,
)
class AssetJobViewSet(
    CachedPollMixin, ProjectScopedMixin, mixins.ListModelMixin, viewsets.GenericViewSet
):
    """Asset job reads, plus a producer's create and report."""

    serializer_class = AssetJobSerializer
    filterset_class = AssetJobFilter
    pagination_class = OffsetLimitPagination
    http_method_names = ["get", "head", "post", "put"]
    watch_id_kwarg = "job_id"

    def retrieve(self, request, *args, **kwargs) -> HttpResponse:
        return self.poll(request)

    def fast_poll(self, request):
        # One view class serves the list route too: only the job read is a poll.
        if self.action_map.get("get") != "retrieve":
            return None
        return super().fast_poll(request)

    def poll_key(self) -> str:
        check_path_parameters(self.kwargs)
        return self.kwargs["job_id"]

    def poll_matches(self, snapshot, principal) -> bool:
        tenant = getattr(self, "tenant", None)  # the path's project, once `initial` ran
        if tenant is None:  # the fast path: a token reads its own tenant's project only
            tenant = principal.token.tenant if principal.token is not None else None
            if tenant is None or tenant.project_id != self.kwargs["project_id"]:
                return False
        return (
            snapshot.tenant_id == tenant.pk
            and snapshot.scope == self.kwargs["instance_id"]
            and super().poll_matches(snapshot, principal)
        )

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request to scope
            return AssetJob.objects.none()
        queryset = self.jobs().prefetch_related("reasons")
        if self.action == "list":
            queryset = queryset.filter(instance=self.roma_instance)
        return queryset

    def list(self, request, *args, **kwargs):
        self.roma_instance = self.path_instance()
        return super().list(request, *args, **kwargs)

    def get_object(self) -> AssetJob:
        job_id, instance_id = self.kwargs["job_id"], self.kwargs["instance_id"]
        try:
            return self.get_queryset().get(pk=job_id, instance__instance_id=instance_id)
        except AssetJob.DoesNotExist:
            raise self.instance_not_found() or ResourceNotFound(
                f"No asset job {job_id} in instance {instance_id}."
            ) from None

    def path_instance(self) -> Instance:
        """Return the path's instance in the path's project, or raise a 404."""
        instance = (
            Instance.objects.for_tenant(self.tenant)
            .filter(instance_id=self.kwargs["instance_id"])
            .first()
        )
        if instance is None:
            raise self.unknown_instance()
        return instance

    def create(self, request: Request, *args, **kwargs) -> Response:
        job_type = body_object(request, {"type"})["type"]
        instance = self.path_instance()
        try:
            job = create_once(
                request,
                family,
                lambda _: asset_job_create(instance=instance, type=job_type, user=request.user),
                fingerprint=(instance.instance_id, job_type),
                tenant=self.tenant,
            )
        except DjangoValidationError as error:
            raise InvalidParameters(error.messages[0]) from None
        return Response({"job_id": job.pk})

    def update(self, request: Request, *args, **kwargs) -> Response:
        job = self.get_object()
        data = body_object(request, REPORT_FIELDS)
        try:
            self.report(job, **data)
        except DjangoValidationError as error:
            raise invalid_parameters(error) from None
        return Response(self.get_serializer(self.get_object()).data)

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


class AssetArchiveView(ProjectScopedMixin, GenericAPIView):
    """Download an export's package (ROMA's DownloadAssetArchive): once, then it is gone."""

    # Not HEAD: a download consumes the package, and a HEAD must not.
    http_method_names = ["get"]

    @asset_archive_download_schema
    def get(self, request, *args, **kwargs):
        job = self.get_object()
        try:
            package = asset_archive_claim(job=job)
        except TransitionRefused:
            raise self.package_not_found() from None
        response = FileResponse(
            package.file,
            as_attachment=True,
            filename=package.filename,
            content_type="application/zip",
        )
        response["Cache-Control"] = "no-store"
        return response

    def get_object(self) -> AssetJob:
        try:
            return (
                self.jobs()
                .downloadable()
                .get(
                    archive_id=self.kwargs["archive_id"],
                    instance__instance_id=self.kwargs["instance_id"],
                )
            )
        except AssetJob.DoesNotExist:
            raise self.instance_not_found() or self.package_not_found() from None

    def package_not_found(self) -> ResourceNotFound:
        return ResourceNotFound(f"No downloadable asset package {self.kwargs['archive_id']}.")


class AssetArchiveUploadView(ProjectScopedMixin, GenericAPIView):
    """`PUT .../assets/jobs/{job_id}/archive`: a running export succeeds with this zip."""

    http_method_names = ["put"]
    serializer_class = AssetJobSerializer

    @asset_archive_upload_schema
    def put(self, request: Request, *args, **kwargs) -> Response:
        job = self.get_object()
        package = self.spooled_body(request)
        with package:
            try:
                asset_job_succeed(job, archive=File(package, name="package.zip"))
            except DjangoValidationError as error:
                raise invalid_parameters(error) from None
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
        package = read_upload(request._request, limit)
        if package is None:
            raise ArchiveTooLarge(f"Upload at most {limit} bytes.")
        if not is_readable_zip(package):
            package.close()
            raise InvalidParameters("The package must be a .zip archive.")
        return package


class UnknownURLView(RomaEnvelopeMixin, APIView):
    """Answer any other URL under /v2/ with ROMA.1007 instead of Django's HTML 404."""

    authentication_classes = []
    permission_classes = []
    schema = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        raise InvalidRequestURL(f"No API at {request.method} {request.path}.")
