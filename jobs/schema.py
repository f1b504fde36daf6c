"""How every family's operations appear in the OpenAPI schema: errors, polls, tags and enums.

The tags and enum names come from the family registry: each family's `description` names its
tag, and its `openapi_enums` give its enums names of their own, so no two collide into a
hashed name.
"""

from http import HTTPStatus

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema

from jobs.errors import status_phrase
from jobs.registry import families


def family_enums(family) -> dict[str, object]:
    """Return an OpenAPI name for each enum of a family: its app's choices fields, named after
    model and field (`AssetJobReasonResourceType`), and those the family names itself."""
    found: dict[str, object] = {}
    for model in family.model._meta.app_config.get_models():
        for field in model._meta.get_fields():
            if getattr(field, "choices", None):
                name = model.__name__ + field.name.title().replace("_", "")
                found[name] = list(field.flatchoices)
    return {**found, **family.openapi_enums}


def register_family_enums() -> None:
    """Add each registered family's enum names, and the core's, to drf-spectacular's
    ENUM_NAME_OVERRIDES."""
    from jobs.models import JobEvent

    overrides = spectacular_settings.ENUM_NAME_OVERRIDES
    for family in families:
        for name, choices in family_enums(family).items():
            overrides.setdefault(name, choices)
    overrides.setdefault("JobEventKind", list(JobEvent.Kind.choices))


# The tag of jobdesk's own operations on any family's job (the timeline).
CORE_TAG = {
    "name": "jobs",
    "description": "jobdesk's own read-only API for a job of any family: its timeline.",
}


def family_tags(result: dict, generator, request, public) -> dict:
    """Name one OpenAPI tag per registered family, in registration order, then the core's
    (a postprocessing hook)."""
    result["tags"] = [
        *({"name": family.name, "description": family.description} for family in families),
        CORE_TAG,
    ]
    return result


def timeline_schema(view_method):
    """Describe `GET /api/jobs/{family}/{job_id}/timeline` (`jobs.views.JobTimelineView`)."""
    from jobs.serializers import JobdeskErrorSerializer, TimelineSerializer

    return extend_schema(
        operation_id="job_timeline_retrieve",
        tags=[CORE_TAG["name"]],
        summary="Read a job's timeline",
        description=(
            "Every step of a job of any family, oldest first: created, started, progress (in "
            "steps of 10 %), waiting, completed, failed, cancelled, reaped, changed; with the "
            "states before and after, the message and who made the change. Needs the family's "
            "READ permission in the job's tenant; another tenant's job is a 404."
        ),
        parameters=[
            OpenApiParameter(
                "family",
                str,
                OpenApiParameter.PATH,
                enum=families.names(),
                description="The job's family.",
            ),
            OpenApiParameter(
                "job_id",
                {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
                OpenApiParameter.PATH,
                description="The job's id, as its family's API names it.",
            ),
            header(
                "Cache-Control",
                "`private, no-cache`: shared caches must not store it.",
                HTTPStatus.OK,
            ),
        ],
        responses={
            HTTPStatus.OK: TimelineSerializer,
            **error_responses(
                JobdeskErrorSerializer,
                HTTPStatus.UNAUTHORIZED,
                HTTPStatus.FORBIDDEN,
                HTTPStatus.NOT_FOUND,
            ),
        },
    )(view_method)


# What any producer operation may answer besides its own errors.
PRODUCER_ERRORS = (
    HTTPStatus.BAD_REQUEST,
    HTTPStatus.UNAUTHORIZED,
    HTTPStatus.FORBIDDEN,
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
)


def error_responses(envelope, *statuses: HTTPStatus) -> dict[int, OpenApiResponse]:
    """Describe each of `statuses` as answered with a family's error `envelope` serializer."""
    return {
        int(status): OpenApiResponse(response=envelope, description=status_phrase(status))
        for status in sorted(statuses)
    }


def optional_keys(target: str, *keys: str) -> type[OpenApiSerializerExtension]:
    """Describe the serializer at dotted path `target` with `keys` optional and never null.

    drf-spectacular marks every read-only field required; a key that a serializer drops
    from some answers instead of sending null (Canvas' `results`, ROMA's `archive_id`) must
    say that it may be absent.
    """

    def map_serializer(self, auto_schema, direction) -> dict:
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        schema["required"] = [key for key in schema.get("required", []) if key not in keys]
        for key in keys:
            # Left out rather than null: a key that is there holds a value.
            schema["properties"][key].pop("nullable", None)
        return schema

    name = f"{target.rpartition('.')[2]}OptionalKeys"
    attributes = {
        "target_class": target,
        "match_subclasses": True,
        "map_serializer": map_serializer,
    }
    return type(name, (OpenApiSerializerExtension,), attributes)


def header(
    name: str,
    description: str,
    *statuses: int,
    schema: dict | None = None,
    required: bool = True,
):
    """Describe a response header `name` sent with `statuses` (always, unless not required)."""
    return OpenApiParameter(
        name,
        schema or {"type": "string"},
        OpenApiParameter.HEADER,
        required=required,
        description=description,
        response=[int(status) for status in statuses],
    )


def poll_parameters() -> list[OpenApiParameter]:
    """The conditional-request headers of a job read (docs/api/polling.md)."""
    return [
        OpenApiParameter(
            "If-None-Match",
            str,
            OpenApiParameter.HEADER,
            description=(
                "The `ETag` of the body you hold: if the job is unchanged the answer is a 304 "
                "with no body."
            ),
        ),
        header(
            "ETag",
            "A strong entity tag of this body; it changes whenever the job does.",
            HTTPStatus.OK,
            HTTPStatus.NOT_MODIFIED,
        ),
        header(
            "Retry-After",
            "While the job is pending: seconds to wait before polling again. Absent once the "
            "job has finished.",
            HTTPStatus.OK,
            HTTPStatus.NOT_MODIFIED,
            schema={"type": "integer", "minimum": 0},
            required=False,
        ),
        header(
            "Cache-Control",
            "`private, no-cache`: a browser may keep the body but must revalidate it; shared "
            "caches must not store it.",
            HTTPStatus.OK,
            HTTPStatus.NOT_MODIFIED,
        ),
    ]


NOT_MODIFIED = {
    HTTPStatus.NOT_MODIFIED: OpenApiResponse(
        description="Not Modified: the job is as the `If-None-Match` tag says; no body."
    )
}


def drop_optional_trailing_slash(endpoints: list) -> list:
    """Name routes that end in an optional slash (`/?$`, as Rails accepts) without it."""
    return [
        (path.removesuffix("/") if regex.endswith("/?$") else path, regex, method, callback)
        for path, regex, method, callback in endpoints
    ]
