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

import hashlib
import re
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files import File
from django.http import FileResponse, HttpResponse
from django.utils.functional import cached_property
from drf_spectacular.utils import extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from asset_jobs.archives import is_readable_zip, read_upload
from asset_jobs.errors import (
    ArchiveTooLarge,
    AssetTaskRunning,
    InstanceNotFound,
    InvalidParameters,
    InvalidRequestURL,
    NotAZip,
    ResourceNotFound,
    UnsupportedOperation,
    flatten,
    roma_exception_handler,
)
from asset_jobs.family import family
from asset_jobs.filters import AssetJobFilter, OffsetLimitPagination
from asset_jobs.handlers import job_handler
from asset_jobs.models import HEX_ID_PATTERN, ROMA_ID_PATTERN, AssetJob, Instance
from asset_jobs.schema import (
    asset_archive_download_schema,
    asset_archive_upload_schema,
    asset_delete_schema,
    asset_export_schema,
    asset_import_schema,
    asset_job_create_schema,
    asset_job_list_schema,
    asset_job_report_schema,
    asset_job_retrieve_schema,
    asset_settings_retrieve_schema,
    asset_settings_update_schema,
)
from asset_jobs.serializers import AssetJobSerializer
from asset_jobs.services import (
    AssetJobBusy,
    asset_archive_claim,
    asset_job_create,
    asset_job_fail,
    asset_job_launch,
    asset_job_succeed,
    asset_job_update,
    instance_set_status_spelling,
)
from jobs.api import FamilyAPIMixin, PrivateResponsesMixin, create_once
from jobs.polling import CachedPollMixin
from jobs.transitions import TransitionRefused
from tenancy.access import principal_for
from tenancy.authentication import (
    BearerTokenAuthentication,
    SignatureAuthentication,
    XAuthTokenAuthentication,
)
from tenancy.models import Tenant

MAX_PATH_PARAMETER_LENGTH = 64
# ROMA: "A maximum of 100 applications and tasks" per import, export or deletion.
MAX_ASSETS_PER_JOB = 100
ASSET_ID = re.compile(ROMA_ID_PATTERN)
IMPORT_MODES = ("AddNew", "Merge")
# What multipart framing may add to a package (boundaries, part headers).
MULTIPART_OVERHEAD = 64 * 1024
# A producer reports a status in either of ROMA's spellings.
REPORTED_STATUSES = {
    "RUNNING": AssetJob.State.RUNNING,
    "SUCCEEDED": AssetJob.State.SUCCESS,
    "FAILED": AssetJob.State.FAILED,
}
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


# ROMA clients send a key in X-Auth-Token, or sign with an access key as the Huawei Cloud
# SDKs do; Bearer keys and the admin's session work too. The first that finds credentials wins.
ROMA_AUTHENTICATION = [
    BearerTokenAuthentication,
    XAuthTokenAuthentication,
    SignatureAuthentication,
    SessionAuthentication,
]


class RomaEnvelopeMixin(PrivateResponsesMixin):
    """Give every response a request id (`X-Request-Id`) and every error the ROMA envelope."""

    authentication_classes = ROMA_AUTHENTICATION

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
        if not project_header_matches(self.request.META, project_id):
            # The SDKs send the project their credentials are for; it must be the path's.
            raise PermissionDenied(f"X-Project-Id does not name project {project_id}.")
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


def project_header_matches(meta: dict, project_id: str) -> bool:
    """Return False if the request sends an `X-Project-Id` other than the path's project."""
    return meta.get("HTTP_X_PROJECT_ID", project_id) == project_id


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

    def answer_values(self, request, snapshot, etag: str, body: bytes) -> dict[str, str]:
        """A fast answer's own headers (`jobs.polling.AnswerShapes`), with its request id."""
        return {
            **super().answer_values(request, snapshot, etag, body),
            "X-Request-Id": self.request_id,
        }

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
            project_id = self.kwargs["project_id"]
            if (
                tenant is None
                or tenant.project_id != project_id
                or not project_header_matches(self.request.META, project_id)
            ):
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
        """Report progress, then finish the job if `status` (in either spelling) says so."""
        status = REPORTED_STATUSES.get(status, status)
        if reasons is not None and status != AssetJob.State.FAILED:
            raise DjangoValidationError({"reasons": "Reasons come with status Failed."})
        if progress_percent is not None:
            asset_job_update(job, progress_percent=progress_percent)
        if status == AssetJob.State.SUCCESS:
            asset_job_succeed(job)
        elif status == AssetJob.State.FAILED:
            asset_job_fail(job, reasons=reasons if reasons is not None else [])
        elif status not in (None, AssetJob.State.RUNNING):
            raise DjangoValidationError(
                {"status": "Use Running, Success or Failed (or RUNNING, SUCCEEDED, FAILED)."}
            )


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


class AssetOperationView(ProjectScopedMixin, GenericAPIView):
    """`POST .../assets/{import,export,delete}`: start a job that a configured handler runs.

    Answers `{"job_id": ...}` as ROMA does. After the usual checks: a job type without a
    handler is ROMA.12002, a malformed body ROMA.13000, and a job while another import or
    export (or deletion) runs in the instance ROMA.10012.
    """

    http_method_names = ["post"]
    job_type: str

    def post(self, request: Request, *args, **kwargs) -> Response:
        handler = job_handler(self.job_type)
        if handler is None:
            raise UnsupportedOperation(f"No handler runs {self.job_type} jobs in this service.")
        instance = self.path_instance()
        arguments, package = self.job_arguments(request)
        fingerprint = (instance.instance_id, self.job_type, arguments, self.digest(package))
        try:
            job = create_once(
                request,
                family,
                lambda _: asset_job_launch(
                    instance=instance,
                    type=self.job_type,
                    handler=handler,
                    user=request.user,
                    arguments=arguments,
                    package=package,
                ),
                fingerprint=fingerprint,
                tenant=self.tenant,
            )
        except AssetJobBusy as busy:
            raise AssetTaskRunning(str(busy)) from None
        return Response({"job_id": job.pk})

    def job_arguments(self, request: Request) -> tuple[dict, File | None]:
        """Return the handler's keyword arguments and any package, or raise ROMA's 400."""
        return asset_selection(request.data), None

    def digest(self, package: File | None) -> str | None:
        if package is None:
            return None
        package.seek(0)
        digest = hashlib.file_digest(package, "sha256").hexdigest()
        package.seek(0)
        return digest


def asset_selection(data: object) -> dict[str, list[str]]:
    """Return `{"apps": [...], "tasks": [...]}` ids from ROMA's export or delete body."""
    if not isinstance(data, dict) or set(data) != {"apps", "tasks"}:
        raise InvalidParameters('Give a JSON object with "apps" and "tasks" lists.')
    selection = {key: selected_ids(key, data[key]) for key in ("apps", "tasks")}
    total = len(selection["apps"]) + len(selection["tasks"])
    if not 1 <= total <= MAX_ASSETS_PER_JOB:
        raise InvalidParameters(f"Name 1 to {MAX_ASSETS_PER_JOB} applications and tasks.")
    return selection


def selected_ids(key: str, items: object) -> list[str]:
    """Return the ids of `[{"id": ...}, ...]`, refusing anything else."""
    if not isinstance(items, list):
        raise InvalidParameters(f'{key} must be a list of {{"id": ...}} objects.')
    ids = []
    for item in items:
        if not (isinstance(item, dict) and set(item) == {"id"} and isinstance(item["id"], str)):
            raise InvalidParameters(f"Each of {key} must be an object with a string id.")
        if not ASSET_ID.fullmatch(item["id"]):
            raise InvalidParameters(f"{key} ids must be 1 to 64 letters, digits, '-' or '_'.")
        ids.append(item["id"])
    return ids


class AssetExportView(AssetOperationView):
    """ROMA's ExportAsset: export applications and tasks into a package to download once."""

    job_type = AssetJob.Type.EXPORT

    @asset_export_schema
    def post(self, request: Request, *args, **kwargs) -> Response:
        return super().post(request, *args, **kwargs)


class AssetDeleteView(AssetOperationView):
    """ROMA's DeleteAsset: delete applications and tasks."""

    job_type = AssetJob.Type.DELETE

    @asset_delete_schema
    def post(self, request: Request, *args, **kwargs) -> Response:
        return super().post(request, *args, **kwargs)


class AssetImportView(AssetOperationView):
    """ROMA's ImportAsset: import a zip package (multipart form data, as the SDK uploads it)."""

    job_type = AssetJob.Type.IMPORT
    parser_classes = [MultiPartParser]

    @asset_import_schema
    def post(self, request: Request, *args, **kwargs) -> Response:
        return super().post(request, *args, **kwargs)

    def job_arguments(self, request: Request) -> tuple[dict, File | None]:
        arguments = import_options(request.query_params)
        limit = settings.JOBDESK_MAX_ARCHIVE_BYTES
        declared = request.META.get("CONTENT_LENGTH") or ""
        if declared.isdigit() and int(declared) > limit + MULTIPART_OVERHEAD:
            raise ArchiveTooLarge(f"Upload at most {limit} bytes.")
        files = list(request.FILES.values())  # any other media type is a 415
        if len(files) != 1:
            raise InvalidParameters("Upload one zip file as multipart/form-data.")
        (package,) = files
        if package.size > limit:
            raise ArchiveTooLarge(f"Upload at most {limit} bytes.")
        if not is_readable_zip(package):
            raise NotAZip("The uploaded file is not a zip archive.")
        return arguments, package


def import_options(query) -> dict:
    """Return ImportAsset's query options (`type`, `prefix`, `datasource_overwrite`)."""
    unknown = set(query) - {"type", "prefix", "datasource_overwrite"}
    if unknown:
        raise InvalidParameters(f"Unknown query parameters: {', '.join(sorted(unknown))}.")
    mode = query.get("type", "AddNew")
    if mode not in IMPORT_MODES:
        raise InvalidParameters("type must be AddNew or Merge.")
    prefix = query.get("prefix", "")
    if prefix and not ASSET_ID.fullmatch(prefix):
        raise InvalidParameters("prefix must be 1 to 64 letters, digits, '-' or '_'.")
    overwrite = query.get("datasource_overwrite", "false")
    if overwrite not in ("true", "false"):
        raise InvalidParameters("datasource_overwrite must be true or false.")
    return {"type": mode, "prefix": prefix, "datasource_overwrite": overwrite == "true"}


class AssetSettingsView(ProjectScopedMixin, GenericAPIView):
    """`GET`/`PUT .../assets/settings`: how the instance's jobs spell their status (jobdesk)."""

    http_method_names = ["get", "put"]

    @asset_settings_retrieve_schema
    def get(self, request: Request, *args, **kwargs) -> Response:
        return Response(instance_settings(self.path_instance()))

    @asset_settings_update_schema
    def put(self, request: Request, *args, **kwargs) -> Response:
        instance = self.path_instance()
        spelling = body_object(request, {"status_spelling"})["status_spelling"]
        if not isinstance(spelling, str):
            raise InvalidParameters("status_spelling must be classic or current.")
        try:
            instance_set_status_spelling(instance=instance, status_spelling=spelling)
        except DjangoValidationError as error:
            raise invalid_parameters(error) from None
        return Response(instance_settings(instance))


def instance_settings(instance: Instance) -> dict:
    return {"status_spelling": instance.status_spelling}


class UnknownURLView(RomaEnvelopeMixin, APIView):
    """Answer any other URL under /v2/ with ROMA.1007 instead of Django's HTML 404."""

    authentication_classes = []
    permission_classes = []
    schema = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        raise InvalidRequestURL(f"No API at {request.method} {request.path}.")
