"""OpenAPI descriptions of the ROMA Connect asset job views; wire shapes live in serializers.py."""

from __future__ import annotations

from http import HTTPStatus

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import serializers

from asset_jobs.filters import STATUS_ALIASES, OffsetLimitPagination
from asset_jobs.models import (
    CURRENT_SPELLING,
    HEX_ID_PATTERN,
    ROMA_ID_PATTERN,
    AssetJob,
    Instance,
)
from asset_jobs.serializers import AssetJobSerializer
from jobs.api import JSON
from jobs.schema import NOT_MODIFIED, error_responses, header, optional_keys, poll_parameters

TAGS = ["asset_jobs"]
MAX_TEXT_LENGTH = 128
HEX_LENGTH = (32, 32)

# `archive_id` appears only while the export's package can be downloaded.
AssetJobOptionalArchiveId = optional_keys("asset_jobs.serializers.AssetJobSerializer", "archive_id")


# The job's status, in the spelling its instance chose: two enums, since `Failed` and `FAILED`
# would collide in one generated enum.
STATUS_ENUMS = {
    "AssetJobStatus": (
        AssetJob.State.values,
        "ROMA's classic spelling (its 2022 API reference): Running, then Success or Failed; "
        "a downloaded export is Finished.",
    ),
    "AssetJobStatusCurrent": (
        list(dict.fromkeys(CURRENT_SPELLING.values())),
        "ROMA's current spelling (its API reference and SDK enums): RUNNING, then SUCCEEDED "
        "or FAILED.",
    ),
}


class SpelledStatusFieldScheme(OpenApiSerializerFieldExtension):
    """`status`: in one of two spellings, as the job's instance chose (`status_spelling`)."""

    target_class = "asset_jobs.serializers.SpelledStatusField"

    def map_serializer_field(self, auto_schema, direction) -> dict:
        refs = []
        for name, (values, description) in STATUS_ENUMS.items():
            component = ResolvedComponent(
                name=name,
                type=ResolvedComponent.SCHEMA,
                object=name,
                schema={"enum": values, "type": "string", "description": description},
            )
            auto_schema.registry.register_on_missing(component)
            refs.append(component.ref)
        return {
            "oneOf": refs,
            "description": "The job's status, spelled as its instance's `status_spelling` says.",
        }


class RomaErrorSerializer(serializers.Serializer):
    """ROMA Connect's error envelope; `request_id` repeats the `X-Request-Id` header."""

    error_code = serializers.CharField(help_text="e.g. `ROMA.00110006`.")
    error_msg = serializers.CharField(max_length=MAX_TEXT_LENGTH)
    error_details = serializers.CharField(max_length=MAX_TEXT_LENGTH)
    request_id = serializers.RegexField(r"^[0-9a-f]{32}$")


@extend_schema_serializer(many=False)
class AssetJobPageSerializer(serializers.Serializer):
    total = serializers.IntegerField(min_value=0, help_text="Jobs matching the filters.")
    size = serializers.IntegerField(min_value=0, help_text="Jobs on this page.")
    jobs = AssetJobSerializer(many=True)


def path_id(name: str, pattern: str, description: str, length=(1, 64)) -> OpenApiParameter:
    minimum, maximum = length
    schema = {
        "type": "string",
        "minLength": minimum,
        "maxLength": maximum,
        "pattern": f"^{pattern}$",
    }
    return OpenApiParameter(name, schema, OpenApiParameter.PATH, description=description)


def roma_errors(*statuses: HTTPStatus) -> dict:
    return error_responses(RomaErrorSerializer, *statuses)


PROJECT_AND_INSTANCE = [
    path_id("project_id", ROMA_ID_PATTERN, "The project (one per tenant)."),
    path_id("instance_id", ROMA_ID_PATTERN, "The ROMA Connect instance."),
]
ERRORS = (
    HTTPStatus.BAD_REQUEST,
    HTTPStatus.UNAUTHORIZED,
    HTTPStatus.FORBIDDEN,
    HTTPStatus.NOT_FOUND,
    HTTPStatus.NOT_ACCEPTABLE,
)
ALL_STATUSES = (HTTPStatus.OK, *ERRORS)
REQUEST_ID = header(
    "X-Request-Id",
    "This request's id; error bodies repeat it as `request_id`.",
    *ALL_STATUSES,
    schema={"type": "string", "pattern": "^[0-9a-f]{32}$"},
)
POLL_REQUEST_ID = header(
    "X-Request-Id",
    "This request's id; error bodies repeat it as `request_id`.",
    *ALL_STATUSES,
    HTTPStatus.NOT_MODIFIED,
    schema={"type": "string", "pattern": "^[0-9a-f]{32}$"},
)
WWW_AUTHENTICATE = header(
    "WWW-Authenticate", 'Always `Bearer realm="jobdesk"`.', HTTPStatus.UNAUTHORIZED
)
PAGE_LIMITS = {
    "limit": {
        "type": "integer",
        "minimum": 1,
        "maximum": OffsetLimitPagination.max_limit,
        "default": OffsetLimitPagination.default_limit,
    },
    "offset": {"type": "integer", "minimum": 0, "maximum": 999_999_999, "default": 0},
}

asset_job_retrieve_schema = extend_schema(
    operation_id="asset_job_retrieve",
    tags=TAGS,
    summary="Show one asset job (CheckAssetJobStatus)",
    description="Its type, status, progress and, on failure, the reasons.",
    parameters=[
        *PROJECT_AND_INSTANCE,
        path_id("job_id", HEX_ID_PATTERN, "The job's id.", HEX_LENGTH),
        POLL_REQUEST_ID,
        WWW_AUTHENTICATE,
        *poll_parameters(),
    ],
    responses={HTTPStatus.OK: AssetJobSerializer, **NOT_MODIFIED, **roma_errors(*ERRORS)},
)
asset_job_list_schema = extend_schema(
    operation_id="asset_job_list",
    tags=TAGS,
    summary="List an instance's asset jobs, newest first",
    description="One page of the instance's jobs, with the count of all that match.",
    parameters=[
        *PROJECT_AND_INSTANCE,
        OpenApiParameter(
            "status",
            # Two enums, not one: `Failed` and `FAILED` would collide in a generated client.
            {
                "oneOf": [
                    {"type": "string", "enum": AssetJob.State.values},
                    {"type": "string", "enum": list(STATUS_ALIASES)},
                ]
            },
            description="ROMA's spelling, or the SDKs' (`RUNNING`, `SUCCEEDED`, ...).",
        ),
        OpenApiParameter("type", str, enum=AssetJob.Type.values),
        OpenApiParameter("limit", PAGE_LIMITS["limit"], description="Jobs per page."),
        OpenApiParameter("offset", PAGE_LIMITS["offset"], description="Jobs to skip."),
        REQUEST_ID,
        WWW_AUTHENTICATE,
    ],
    responses={HTTPStatus.OK: AssetJobPageSerializer, **roma_errors(*ERRORS)},
)
asset_archive_download_schema = extend_schema(
    operation_id="asset_archive_download",
    tags=TAGS,
    summary="Download an export's package, once (DownloadAssetArchive)",
    description="The job becomes `Finished` and later downloads answer 404.",
    parameters=[
        *PROJECT_AND_INSTANCE,
        path_id(
            "archive_id", HEX_ID_PATTERN, "The package's id (the job's `archive_id`).", HEX_LENGTH
        ),
        REQUEST_ID,
        WWW_AUTHENTICATE,
        header(
            "Content-Disposition",
            '`attachment; filename="<archive_id>.zip"`.',
            HTTPStatus.OK,
        ),
    ],
    responses={
        (HTTPStatus.OK, "application/zip"): OpenApiResponse(
            OpenApiTypes.BINARY, description="The zip package."
        ),
        **roma_errors(*ERRORS),
    },
)

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
PRODUCER_ERRORS = roma_errors(*PRODUCER_STATUSES)
PRODUCER_REQUEST_ID = header(
    "X-Request-Id",
    "This request's id; error bodies repeat it as `request_id`.",
    HTTPStatus.OK,
    *PRODUCER_STATUSES,
    schema={"type": "string", "pattern": "^[0-9a-f]{32}$"},
)
JOB_ID = path_id("job_id", HEX_ID_PATTERN, "The job's id.", HEX_LENGTH)

asset_job_create_schema = extend_schema(
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
asset_job_report_schema = extend_schema(
    operation_id="asset_job_report",
    tags=TAGS,
    parameters=[*PROJECT_AND_INSTANCE, JOB_ID, PRODUCER_REQUEST_ID],
    request={
        JSON: inline_serializer(
            "AssetJobReport",
            {
                "progress_percent": serializers.FloatField(required=False),
                "status": serializers.CharField(
                    required=False,
                    help_text="Running, Success or Failed (or RUNNING, SUCCEEDED, FAILED).",
                ),
                "reasons": serializers.ListField(child=serializers.DictField(), required=False),
            },
        )
    },
    responses={HTTPStatus.OK: AssetJobSerializer, **PRODUCER_ERRORS},
)
asset_archive_upload_schema = extend_schema(
    tags=TAGS,
    operation_id="asset_archive_upload",
    parameters=[*PROJECT_AND_INSTANCE, JOB_ID, PRODUCER_REQUEST_ID],
    request={"application/zip": OpenApiTypes.BINARY},
    responses={HTTPStatus.OK: AssetJobSerializer, **PRODUCER_ERRORS},
)


class InstanceSettingsSerializer(serializers.Serializer):
    status_spelling = serializers.ChoiceField(
        choices=Instance.StatusSpelling.choices,
        help_text="`classic`: Running, Success, Failed, Finished; `current`: RUNNING, "
        "SUCCEEDED, FAILED.",
    )


asset_settings_retrieve_schema = extend_schema(
    operation_id="asset_settings_retrieve",
    tags=TAGS,
    summary="Show how an instance's jobs spell their status (a jobdesk extension)",
    parameters=[*PROJECT_AND_INSTANCE, REQUEST_ID, WWW_AUTHENTICATE],
    responses={HTTPStatus.OK: InstanceSettingsSerializer, **roma_errors(*ERRORS)},
)
asset_settings_update_schema = extend_schema(
    operation_id="asset_settings_update",
    tags=TAGS,
    summary="Choose how an instance's jobs spell their status (a jobdesk extension)",
    description="Needs `ASSET-JOB:WRITE`. Every job of the instance reads in the new spelling "
    "from the next poll on (its `ETag` changes with it).",
    parameters=[*PROJECT_AND_INSTANCE, PRODUCER_REQUEST_ID],
    request={JSON: InstanceSettingsSerializer},
    responses={HTTPStatus.OK: InstanceSettingsSerializer, **PRODUCER_ERRORS},
)


class AssetRefSerializer(serializers.Serializer):
    id = serializers.RegexField(rf"^{ROMA_ID_PATTERN}$", max_length=64)


class AssetSelectionSerializer(serializers.Serializer):
    """ROMA's AssetExportRequest and AssetOperateRequest: 1 to 100 ids in all."""

    apps = AssetRefSerializer(many=True, help_text='Applications, as `{"id": ...}`.')
    tasks = AssetRefSerializer(many=True, help_text='Tasks, as `{"id": ...}`.')


class AssetImportSerializer(serializers.Serializer):
    ImportAssetRequestBody = serializers.FileField(
        help_text="The zip package (the SDK's field name; any single file part is taken)."
    )


OPERATION_STATUSES = (
    HTTPStatus.BAD_REQUEST,
    HTTPStatus.UNAUTHORIZED,
    HTTPStatus.FORBIDDEN,
    HTTPStatus.NOT_FOUND,
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
    HTTPStatus.UNPROCESSABLE_ENTITY,
)
OPERATION_REQUEST_ID = header(
    "X-Request-Id",
    "This request's id; error bodies repeat it as `request_id`.",
    HTTPStatus.OK,
    *OPERATION_STATUSES,
    schema={"type": "string", "pattern": "^[0-9a-f]{32}$"},
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Retrying with the same key returns the same job (a jobdesk extension).",
)
OPERATION_ERRORS_TEXT = (
    " Errors (400): `ROMA.12002` when this deployment has no handler for the job type, "
    "`ROMA.10012` while another import or export (for a deletion: another deletion) runs in "
    "the instance, `ROMA.13000` for a malformed request."
)
JOB_ID_ANSWER = inline_serializer("AssetOperationJobId", {"job_id": serializers.CharField()})


def asset_operation_schema(operation_id: str, summary: str, description: str, **options):
    return extend_schema(
        operation_id=operation_id,
        tags=TAGS,
        summary=summary,
        description=description + OPERATION_ERRORS_TEXT,
        parameters=[
            *PROJECT_AND_INSTANCE,
            OPERATION_REQUEST_ID,
            IDEMPOTENCY_KEY,
            *options.pop("parameters", []),
        ],
        responses={HTTPStatus.OK: JOB_ID_ANSWER, **roma_errors(*OPERATION_STATUSES)},
        **options,
    )


asset_export_schema = asset_operation_schema(
    "asset_export",
    "Export applications and tasks (ExportAsset)",
    "Starts an `exportAsset` job; poll it, then download its package once.",
    request={JSON: AssetSelectionSerializer},
)
asset_delete_schema = asset_operation_schema(
    "asset_delete",
    "Delete applications and tasks (DeleteAsset)",
    "Starts a `deleteAsset` job; poll it until it finishes.",
    request={JSON: AssetSelectionSerializer},
)
asset_import_schema = asset_operation_schema(
    "asset_import",
    "Import a zip package of applications and tasks (ImportAsset)",
    "Starts an `importAsset` job; poll it until it finishes. A file that is not a zip is "
    "`ROMA.10013`.",
    request={"multipart/form-data": AssetImportSerializer},
    parameters=[
        OpenApiParameter(
            "type",
            str,
            enum=["AddNew", "Merge"],
            description="`AddNew` (a full import, the default) or `Merge`.",
        ),
        OpenApiParameter(
            "prefix",
            {"type": "string", "pattern": f"^{ROMA_ID_PATTERN}$"},
            description="Prepended to imported application names.",
        ),
        OpenApiParameter(
            "datasource_overwrite",
            bool,
            description="Overwrite existing data sources (default false).",
        ),
    ],
)
