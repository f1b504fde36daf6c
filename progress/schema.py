"""OpenAPI descriptions of Canvas' Progress routes; the wire shapes live in serializers.py."""

from __future__ import annotations

from http import HTTPStatus

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers

from jobs.api import JSON, MAX_ID
from jobs.schema import (
    NOT_MODIFIED,
    PRODUCER_ERRORS,
    error_responses,
    header,
    optional_keys,
    poll_parameters,
)
from progress.pagination import DEFAULT_PER_PAGE, MAX_PAGE, MAX_PER_PAGE
from progress.serializers import (
    STRING_IDS_MEDIA_TYPE,
    LtiProgressSerializer,
    ProgressCreateSerializer,
    ProgressSerializer,
    ProgressUpdateSerializer,
)

TAGS = ["progress"]
ERROR_STATUSES = ["unauthenticated", "unauthorized"]
STRING_IDS_NOTE = (
    f"The answer is JSON whatever `Accept` says; with `{STRING_IDS_MEDIA_TYPE}` in `Accept`, "
    "every id (`id`, `*_id`, `*_ids`, nested ones in `results` included) is a string."
)

# `results` appears only once the job finished, and only if it has any.
ProgressOptionalResults = optional_keys("progress.serializers.ProgressSerializer", "results")


class CanvasErrorMessageSerializer(serializers.Serializer):
    message = serializers.CharField()


class CanvasErrorsSerializer(serializers.Serializer):
    """Canvas' REST error envelope; `status` only on 401 without credentials and on 403."""

    status = serializers.ChoiceField(ERROR_STATUSES, required=False)
    errors = CanvasErrorMessageSerializer(many=True)


class LtiErrorSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="The status phrase in snake case, e.g. `not_found`.")
    message = serializers.CharField()


class LtiErrorsSerializer(serializers.Serializer):
    """Canvas' LTI Advantage error envelope."""

    errors = LtiErrorSerializer()


class ProgressCancelSerializer(serializers.Serializer):
    message = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="Replaces the job's message; without it the message is cleared.",
    )


class ProgressCancelFormSerializer(serializers.Serializer):
    """The cancel body as a form (a distinct type, so a generated client picks the encoding)."""

    message = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Replaces the job's message; without it the message is cleared.",
    )


def integer_id(name: str, description: str, location=OpenApiParameter.PATH) -> OpenApiParameter:
    schema = {"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID}
    return OpenApiParameter(name, schema, location, description=description)


def canvas_errors(*statuses: HTTPStatus) -> dict:
    return error_responses(CanvasErrorsSerializer, *statuses)


def www_authenticate() -> OpenApiParameter:
    return header(
        "WWW-Authenticate", 'Always `Bearer realm="canvas-lms"`.', HTTPStatus.UNAUTHORIZED
    )


JOB_ID = integer_id("id", "The job's id; any other value is a 404.")
READ_ERRORS = (
    HTTPStatus.UNAUTHORIZED,
    HTTPStatus.FORBIDDEN,
    HTTPStatus.NOT_FOUND,
)

progress_retrieve_schema = extend_schema(
    operation_id="progress_retrieve",
    tags=TAGS,
    summary="Show one job's progress",
    description=STRING_IDS_NOTE,
    parameters=[JOB_ID, www_authenticate(), *poll_parameters()],
    responses={
        (HTTPStatus.OK, "application/json"): ProgressSerializer,
        **NOT_MODIFIED,
        **canvas_errors(*READ_ERRORS),
    },
)
progress_cancel_schema = extend_schema(
    operation_id="progress_cancel",
    tags=TAGS,
    summary="Cancel a pending job",
    description=(
        "A pending job becomes `failed` with the posted `message`; a finished job is returned "
        "unchanged. Allowed to the job's creator and to holders of `PROGRESS:CANCEL`. "
        "`message` comes from a JSON or form body (`multipart/form-data` works too) or "
        "else the query string. " + STRING_IDS_NOTE
    ),
    parameters=[
        JOB_ID,
        OpenApiParameter("message", str, description="Used when the body has no `message`."),
        www_authenticate(),
    ],
    request={
        "application/json": ProgressCancelSerializer,
        "application/x-www-form-urlencoded": ProgressCancelFormSerializer,
    },
    responses={
        (HTTPStatus.OK, "application/json"): ProgressSerializer,
        **canvas_errors(
            HTTPStatus.BAD_REQUEST,
            *READ_ERRORS,
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
        ),
    },
)
progress_list_schema = extend_schema(
    operation_id="progress_list",
    tags=TAGS,
    summary="List the jobs you may see, newest first",
    description=(
        "A JSON array, one page of it; the `Link` header names the `current`, `next` (when "
        "there is one), `prev` (after page 1) and `first` pages. " + STRING_IDS_NOTE
    ),
    parameters=[
        OpenApiParameter(
            "page",
            {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
            description="The page, from 1.",
        ),
        OpenApiParameter(
            "per_page",
            {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
            description=(
                f"Jobs per page (default {DEFAULT_PER_PAGE}); more than {MAX_PER_PAGE} is "
                f"{MAX_PER_PAGE}, other values are the default."
            ),
        ),
        integer_id("context_id", "Jobs of this context only.", OpenApiParameter.QUERY),
        integer_id("user_id", "Jobs started by this user only.", OpenApiParameter.QUERY),
        header(
            "Link",
            'Pages, Canvas style: `<url>; rel="current",<url>; rel="next",...`.',
            HTTPStatus.OK,
        ),
        www_authenticate(),
    ],
    responses={
        (HTTPStatus.OK, "application/json"): ProgressSerializer(many=True),
        **canvas_errors(
            HTTPStatus.BAD_REQUEST,
            HTTPStatus.UNAUTHORIZED,
            HTTPStatus.FORBIDDEN,
        ),
    },
)
progress_lti_retrieve_schema = extend_schema(
    operation_id="progress_lti_retrieve",
    tags=TAGS,
    summary="Show a job of a course to an LTI tool",
    description=(
        "Needs a token carrying the LTI progress scope and `PROGRESS:READ`; a job of another "
        "course is a 404. " + STRING_IDS_NOTE
    ),
    parameters=[
        integer_id("course_id", "The course the job belongs to."),
        JOB_ID,
        www_authenticate(),
    ],
    responses={
        (HTTPStatus.OK, "application/json"): LtiProgressSerializer,
        **error_responses(
            LtiErrorsSerializer,
            HTTPStatus.UNAUTHORIZED,
            HTTPStatus.NOT_FOUND,
        ),
    },
)

progress_create_schema = extend_schema(
    operation_id="progress_create",
    tags=TAGS,
    request={JSON: ProgressCreateSerializer},
    responses={
        HTTPStatus.CREATED: ProgressSerializer,
        **canvas_errors(*PRODUCER_ERRORS, HTTPStatus.CONFLICT, HTTPStatus.UNPROCESSABLE_ENTITY),
    },
)
progress_report_schema = extend_schema(
    operation_id="progress_report",
    tags=TAGS,
    request={JSON: ProgressUpdateSerializer},
    responses={
        HTTPStatus.OK: ProgressSerializer,
        **canvas_errors(*PRODUCER_ERRORS, HTTPStatus.CONFLICT, HTTPStatus.NOT_FOUND),
    },
)
