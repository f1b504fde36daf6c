"""OpenAPI descriptions of the Google LRO views; the wire shapes live in serializers.py."""

from __future__ import annotations

from http import HTTPStatus

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import serializers

from jobs.api import JSON, MAX_ID
from jobs.polling import MAX_WAIT_SECONDS
from jobs.schema import NOT_MODIFIED, error_responses, header, poll_parameters
from lro.filters import DEFAULT_PAGE_SIZE
from lro.serializers import OperationSerializer

TAGS = ["lro"]
# google.rpc.Code names, as the `status` of an error.
CANONICAL_CODES = [
    "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
    "UNAUTHENTICATED",
]  # fmt: skip
PROJECT_PATTERN = "^[A-Za-z0-9_-]{1,64}$"


class GoogleErrorBodySerializer(serializers.Serializer):
    code = serializers.IntegerField(help_text="The HTTP status.")
    message = serializers.CharField(help_text="What was wrong, for a developer.")
    status = serializers.ChoiceField(CANONICAL_CODES, help_text="The canonical code's name.")
    details = serializers.ListField(child=serializers.DictField(), help_text="Always empty.")


class GoogleErrorSerializer(serializers.Serializer):
    """Google's JSON error envelope."""

    error = GoogleErrorBodySerializer()


@extend_schema_serializer(many=False)
class ListOperationsResponseSerializer(serializers.Serializer):
    operations = OperationSerializer(many=True)
    nextPageToken = serializers.CharField(
        allow_blank=True, help_text="Pass as `pageToken` for the next page; empty on the last."
    )


EMPTY = OpenApiResponse(OpenApiTypes.OBJECT, description="`{}` (a `google.protobuf.Empty`).")
PROJECT = OpenApiParameter(
    "project",
    {"type": "string", "pattern": PROJECT_PATTERN, "maxLength": 64},
    OpenApiParameter.PATH,
    description="The project: the tenant's `project_id`.",
)
OPERATION = OpenApiParameter(
    "operation",
    {"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID},
    OpenApiParameter.PATH,
    description="The operation's id, the last segment of its name.",
)
WWW_AUTHENTICATE = header(
    "WWW-Authenticate", 'Always `Bearer realm="jobdesk"`.', HTTPStatus.UNAUTHORIZED
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Retrying a create with the same key returns the same operation.",
)
READ_ERRORS = (
    HTTPStatus.BAD_REQUEST,
    HTTPStatus.UNAUTHORIZED,
    HTTPStatus.FORBIDDEN,
    HTTPStatus.NOT_FOUND,
    HTTPStatus.SERVICE_UNAVAILABLE,
)
WRITE_ERRORS = (*READ_ERRORS, HTTPStatus.CONFLICT)


def google_errors(*statuses: HTTPStatus) -> dict:
    return error_responses(GoogleErrorSerializer, *statuses)


def body(name: str, fields: dict) -> dict:
    return {JSON: inline_serializer(name, fields)}


STRUCT = serializers.DictField(help_text="Any JSON object (a google.protobuf.Struct).")

get_schema = extend_schema(
    operation_id="operation_get",
    tags=TAGS,
    summary="Get an operation (GetOperation)",
    parameters=[PROJECT, OPERATION, WWW_AUTHENTICATE, *poll_parameters()],
    responses={
        HTTPStatus.OK: OperationSerializer,
        **NOT_MODIFIED,
        **google_errors(*READ_ERRORS),
    },
)
list_schema = extend_schema(
    operation_id="operation_list",
    tags=TAGS,
    summary="List a project's operations, newest first (ListOperations)",
    parameters=[
        PROJECT,
        OpenApiParameter(
            "filter",
            {"type": "string", "pattern": "^ *(done *= *(true|false) *)?$"},
            description="`done=true` or `done=false`; empty: every operation.",
        ),
        OpenApiParameter(
            "pageSize",
            {"type": "integer", "minimum": 0, "maximum": 999_999_999},
            description=f"Operations per page: 0 means {DEFAULT_PAGE_SIZE}; above 1000, 1000.",
        ),
        OpenApiParameter("pageToken", str, description="The `nextPageToken` of the previous page."),
        OpenApiParameter(
            "returnPartialSuccess",
            bool,
            description="Accepted and ignored: nothing is unreachable.",
        ),
        WWW_AUTHENTICATE,
    ],
    responses={HTTPStatus.OK: ListOperationsResponseSerializer, **google_errors(*READ_ERRORS)},
)
cancel_schema = extend_schema(
    operation_id="operation_cancel",
    tags=TAGS,
    summary="Cancel an operation, best effort (CancelOperation)",
    description="A running operation ends done with `error.code` 1 CANCELLED; a done one is "
    "left as it is. Either way the answer is `{}`.",
    parameters=[PROJECT, OPERATION, WWW_AUTHENTICATE],
    request=body("CancelOperation", {"name": serializers.CharField(required=False)}),
    responses={HTTPStatus.OK: EMPTY, **google_errors(*READ_ERRORS)},
)
delete_schema = extend_schema(
    operation_id="operation_delete",
    tags=TAGS,
    summary="Delete an operation (DeleteOperation)",
    description="Forgets the operation (it is not cancelled); afterwards it is NOT_FOUND.",
    parameters=[PROJECT, OPERATION, WWW_AUTHENTICATE],
    responses={HTTPStatus.OK: EMPTY, **google_errors(*READ_ERRORS)},
)
wait_schema = extend_schema(
    operation_id="operation_wait",
    tags=TAGS,
    summary="Wait until an operation is done, or the timeout passes (WaitOperation)",
    description=f"Answers the operation as soon as it is done, or as it is when `timeout` "
    f"has passed (at most {MAX_WAIT_SECONDS} s, also when none is given).",
    parameters=[PROJECT, OPERATION, WWW_AUTHENTICATE],
    request=body(
        "WaitOperation",
        {
            "name": serializers.CharField(required=False),
            "timeout": serializers.RegexField(
                r"^[0-9]{1,12}(\.[0-9]{1,9})?s$",
                required=False,
                help_text='A google.protobuf.Duration, such as "30s".',
            ),
        },
    ),
    responses={HTTPStatus.OK: OperationSerializer, **google_errors(*READ_ERRORS)},
)
create_schema = extend_schema(
    operation_id="operation_create",
    tags=TAGS,
    summary="Create a running operation (producers)",
    parameters=[PROJECT, IDEMPOTENCY_KEY, WWW_AUTHENTICATE],
    request=body("OperationCreate", {"metadata": serializers.DictField(required=False)}),
    responses={HTTPStatus.OK: OperationSerializer, **google_errors(*WRITE_ERRORS)},
)
report_schema = extend_schema(
    operation_id="operation_report",
    tags=TAGS,
    summary="Report on an operation or finish it (producers)",
    description="`metadata` replaces the producer's metadata; `response` finishes the "
    "operation successfully, `error` (`{code, message}`) unsuccessfully.",
    parameters=[PROJECT, OPERATION, WWW_AUTHENTICATE],
    request=body(
        "OperationReport",
        {
            "metadata": serializers.DictField(required=False),
            "response": serializers.DictField(required=False),
            "error": inline_serializer(
                "OperationReportError",
                {
                    "code": serializers.IntegerField(min_value=1, max_value=16),
                    "message": serializers.CharField(required=False, allow_blank=True),
                },
                required=False,
            ),
        },
    ),
    responses={HTTPStatus.OK: OperationSerializer, **google_errors(*WRITE_ERRORS)},
)
