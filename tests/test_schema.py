"""The OpenAPI schema: committed, valid, warning-free, and the docs pages that serve it."""

import difflib
import io
import re
from contextlib import redirect_stderr
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.urls import path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import extend_schema
from drf_spectacular.validation import validate_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs.registry import families
from jobs.schema import error_responses

PROJECT_ROOT = Path(__file__).resolve().parent.parent
COMMITTED_SCHEMA = PROJECT_ROOT / "schema.yml"
REGENERATE = "make schema"
FAMILY_TAGS = set(families.names())
# jobdesk's own operations: on a job of any family (its timeline), and webhook endpoints.
CORE_TAGS = {"jobs", "webhooks"}
SECURITY_SCHEMES = {
    "bearerAuth",
    "xAuthToken",
    "akskSignature",
    "accessTokenParameter",
    "cookieAuth",
}
# Reads well as a generated client's function name: no path soup, no collision suffix.
OPERATION_ID = re.compile(r"^[a-z]+(_[a-z]+)*$")
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@dataclass(frozen=True)
class Generation:
    text: str
    problems: str
    clean: bool


@pytest.fixture(scope="module")
def generation(tmp_path_factory) -> Generation:
    """Generate the schema in-process exactly as `make schema` does, recording every warning."""
    target = tmp_path_factory.mktemp("schema") / "schema.yml"
    GENERATOR_STATS.reset()
    problems = io.StringIO()
    with redirect_stderr(problems):
        call_command("spectacular", "--file", str(target))
    return Generation(target.read_text(), problems.getvalue(), clean=not GENERATOR_STATS)


@pytest.fixture(scope="module")
def operations(generation) -> list[tuple[str, str, dict]]:
    """Return (method, path, operation) for every operation of the generated schema."""
    paths = yaml.safe_load(generation.text)["paths"]
    return [
        (method.upper(), route, operation)
        for route, item in paths.items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def test_schema_generation_emits_no_warnings_or_errors(generation):
    assert generation.clean, f"drf-spectacular reported problems:\n{generation.problems}"


def test_generated_schema_is_valid_openapi(generation):
    validate_schema(yaml.safe_load(generation.text))


def test_committed_schema_matches_the_code(generation):
    committed = COMMITTED_SCHEMA.read_text() if COMMITTED_SCHEMA.exists() else ""
    if committed == generation.text:
        return
    diff = difflib.unified_diff(
        committed.splitlines(keepends=True),
        generation.text.splitlines(keepends=True),
        fromfile="schema.yml (committed)",
        tofile="schema.yml (from the code)",
    )
    pytest.fail(
        f"schema.yml is out of date: run `{REGENERATE}` and commit the result.\n"
        + "".join(list(diff)[:300]),
        pytrace=False,
    )


def test_every_operation_has_a_readable_id_and_a_family_tag_or_the_cores(operations):
    for method, route, operation in operations:
        assert OPERATION_ID.match(operation["operationId"]), (method, route)
        assert set(operation.get("tags", [])) & (FAMILY_TAGS | CORE_TAGS), (method, route)


def test_every_operation_names_only_jobdesk_security_schemes(operations):
    for method, route, operation in operations:
        for requirement in operation.get("security", []):
            assert set(requirement) <= SECURITY_SCHEMES, (method, route)


def test_operation_ids_are_unique(operations):
    ids = [operation["operationId"] for _, _, operation in operations]
    assert len(ids) == len(set(ids))


class ProbeErrorSerializer(serializers.Serializer):
    message = serializers.CharField()


class ProbeView(APIView):
    """An endpoint with jobdesk's defaults, to see how the schema describes them."""

    @extend_schema(
        operation_id="probe_retrieve",
        responses={
            HTTPStatus.NO_CONTENT: None,
            **error_responses(ProbeErrorSerializer, HTTPStatus.UNAUTHORIZED, HTTPStatus.NOT_FOUND),
        },
    )
    def get(self, request):
        return Response(status=HTTPStatus.NO_CONTENT)


@pytest.fixture
def probe_schema() -> dict:
    """Return the schema of a site holding only `ProbeView`, at /probe/."""
    GENERATOR_STATS.reset()
    generator = SchemaGenerator(patterns=[path("probe/", ProbeView.as_view())])
    return generator.get_schema(public=True)


def test_default_authentication_is_described_as_bearer_x_auth_token_and_session(probe_schema):
    schema = probe_schema

    assert schema["components"]["securitySchemes"] == {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "description": "A jobdesk API key sent as `Authorization: Bearer <key>`.",
        },
        "xAuthToken": {
            "type": "apiKey",
            "in": "header",
            "name": "X-Auth-Token",
            "description": "A jobdesk API key sent as `X-Auth-Token: <key>`.",
        },
        "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
    }
    assert schema["paths"]["/probe/"]["get"]["security"] == [
        {"bearerAuth": []},
        {"xAuthToken": []},
        {"cookieAuth": []},
    ]
    assert not GENERATOR_STATS


def test_error_responses_describe_each_status_with_the_envelope_component(probe_schema):
    responses = probe_schema["paths"]["/probe/"]["get"]["responses"]

    assert sorted(responses) == ["204", "401", "404"]
    for status, phrase in [("401", "Unauthorized"), ("404", "Not Found")]:
        assert responses[status]["description"] == phrase
        assert responses[status]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ProbeError"
        }
    assert "ProbeError" in probe_schema["components"]["schemas"]


@pytest.mark.parametrize(
    ("url", "content_type"),
    [
        ("/api/schema/", "application/vnd.oai.openapi"),
        ("/api/docs/", "text/html"),
        ("/api/redoc/", "text/html"),
    ],
)
def test_docs_pages_are_public(client, url, content_type):
    response = client.get(url)

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith(content_type)


def test_docs_pages_are_public_even_with_a_bad_token(client):
    response = client.get("/api/schema/", HTTP_AUTHORIZATION="Bearer not-a-key")

    assert response.status_code == HTTPStatus.OK


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_reference_no_other_host(client, url):
    html = client.get(url).content.decode()

    assert re.findall(r"""(?:src|href)=["']?(?:https?:)?//""", html) == []
    assert "/static/drf_spectacular_sidecar/" in html


@pytest.fixture(scope="module")
def document(generation) -> dict:
    return yaml.safe_load(generation.text)


def operation_by_id(document: dict, operation_id: str) -> dict:
    for item in document["paths"].values():
        for method, operation in item.items():
            if method in HTTP_METHODS and operation["operationId"] == operation_id:
                return operation
    raise KeyError(operation_id)


FAMILY_OPERATIONS = {
    "progress": {"progress_retrieve", "progress_cancel", "progress_list", "progress_lti_retrieve"},
    "async_status": {"async_status_retrieve", "async_status_list", "user_login", "user_logout"},
    "asset_jobs": {"asset_job_retrieve", "asset_job_list", "asset_archive_download"},
    "lro": {
        "operation_get",
        "operation_list",
        "operation_cancel",
        "operation_delete",
        "operation_wait",
    },
}
ENVELOPES = {
    "progress": "CanvasErrors",
    "async_status": "TrafficOpsAlerts",
    "asset_jobs": "RomaError",
    "lro": "GoogleError",
    "jobs": "JobdeskError",
    "webhooks": "WebhookError",
}


@pytest.mark.parametrize("tag", sorted(FAMILY_OPERATIONS))
def test_each_family_has_its_named_operations(operations, tag):
    tagged = {
        operation["operationId"] for _, _, operation in operations if tag in operation["tags"]
    }

    assert FAMILY_OPERATIONS[tag] <= tagged


def test_every_error_response_is_its_familys_envelope_or_jobdesks_own(operations):
    for method, route, operation in operations:
        (tag,) = set(operation["tags"]) & (FAMILY_TAGS | CORE_TAGS)
        envelope = "LtiErrors" if operation["operationId"] == "progress_lti_retrieve" else None
        for status, response in operation["responses"].items():
            if int(status) < HTTPStatus.BAD_REQUEST:
                continue
            refs = {content["schema"]["$ref"] for content in response["content"].values()}
            expected = envelope or ENVELOPES[tag]
            assert refs == {f"#/components/schemas/{expected}"}, (method, route, status)


@pytest.mark.parametrize(
    ("component", "optional", "nullable"),
    [
        ("Progress", {"results"}, {"user_id", "completion", "message"}),
        ("LtiProgress", {"results"}, {"user_id", "completion", "message"}),
        ("AsyncStatus", set(), {"end_time"}),
        ("AssetJob", {"archive_id"}, {"end_time"}),
    ],
)
def test_bodies_say_which_keys_may_be_absent_and_which_null(
    document, component, optional, nullable
):
    schema = document["components"]["schemas"][component]
    properties = schema["properties"]

    assert set(properties) - set(schema["required"]) == optional
    assert {key for key, field in properties.items() if field.get("nullable")} == nullable


def test_every_roma_response_carries_the_request_id_header(operations):
    for _, _, operation in operations:
        if "asset_jobs" in operation["tags"]:
            for status, response in operation["responses"].items():
                assert response["headers"]["X-Request-Id"]["required"], status


def test_path_parameters_carry_their_real_types_and_limits(document):
    def parameter(operation_id, name):
        operation = operation_by_id(document, operation_id)
        return next(p for p in operation["parameters"] if p["name"] == name)["schema"]

    assert parameter("progress_retrieve", "id")["type"] == "integer"
    assert parameter("async_status_retrieve", "version")["enum"] == ["4.0", "4.1", "5.0"]
    assert parameter("async_status_list", "version")["enum"] == ["5.0"]
    assert parameter("asset_job_retrieve", "project_id")["maxLength"] == 64
    assert parameter("asset_job_retrieve", "job_id")["pattern"] == "^[0-9a-f]{32}$"
    download = operation_by_id(document, "asset_archive_download")["responses"]["200"]
    assert download["content"] == {
        "application/zip": {"schema": {"type": "string", "format": "binary"}}
    }


def test_canvas_paths_are_named_without_the_optional_trailing_slash(document):
    assert "/api/v1/progress/{id}" in document["paths"]
    assert not [route for route in document["paths"] if route.endswith("/")]
