"""Contract fuzzing: every operation of schema.yml, authenticated, against the live server."""

from http import HTTPStatus

import pytest
import schemathesis
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup

from tests.asset_jobs.handlers import HANDLERS
from tests.e2e.conftest import PASSWORD, SeededJobs
from tests.e2e.contract import (
    FUZZ_SETTINGS,
    HOSTILE_SETTINGS,
    check_case,
    hostile_bodies,
    rejection_checks,
    send_raw,
)
from tests.e2e.openapi import SCHEMA_PATH, committed_operations

pytestmark = pytest.mark.e2e

# Requests the schema allows: each answer must be exactly as the schema describes it.
SCHEMA = schemathesis.openapi.from_path(SCHEMA_PATH)
SCHEMA.config.generation.update(modes=[GenerationMode.POSITIVE], with_security_parameters=False)
# Requests the schema forbids (junk ids, bad parameters and bodies): a 4xx, never a crash.
JUNK = schemathesis.openapi.from_path(SCHEMA_PATH)
JUNK.config.generation.update(modes=[GenerationMode.NEGATIVE], with_security_parameters=False)
# Describes /api/schema/ wrongly on purpose, to prove a broken contract fails the run.
MISDESCRIBED = schemathesis.openapi.from_dict(
    {
        "openapi": "3.0.3",
        "info": {"title": "misdescribed", "version": "1"},
        "paths": {
            "/api/schema/": {
                "get": {
                    "operationId": "schema_retrieve",
                    "responses": {
                        "200": {
                            "description": "The schema, said to be JSON (it is YAML).",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            }
        },
    }
)

if committed_operations():

    @SCHEMA.parametrize()
    @FUZZ_SETTINGS
    def test_every_operation_answers_as_the_schema_says(
        case, live_server, contract_headers, seeded_jobs
    ):
        check_case(case, base_url=live_server.url, headers=contract_headers)

    @JUNK.parametrize()
    @FUZZ_SETTINGS
    def test_every_operation_refuses_what_the_schema_forbids_without_crashing(
        case, live_server, contract_headers, seeded_jobs
    ):
        check_case(
            case, base_url=live_server.url, headers=contract_headers, checks=rejection_checks(case)
        )

    @SCHEMA.parametrize()
    @SCHEMA.given(body=hostile_bodies())
    @HOSTILE_SETTINGS
    def test_every_operation_answers_hostile_bodies_with_a_4xx_or_ignores_them(
        case, body, live_server, contract_headers, seeded_jobs, settings
    ):
        settings.JOBDESK_ASSET_JOB_HANDLERS = dict(HANDLERS)  # so export and delete read bodies
        case.path_parameters = seeded_path(case, seeded_jobs)

        response = send_raw(case, body, base_url=live_server.url, headers=contract_headers)

        assert response.status_code < HTTPStatus.INTERNAL_SERVER_ERROR, case.as_curl_command()
        if response.status_code >= HTTPStatus.BAD_REQUEST and response.content:
            assert "json" in response.headers["Content-Type"], case.as_curl_command()

else:

    def test_every_operation_answers_as_the_schema_says():
        pytest.skip("schema.yml describes no operation yet")


def seeded_path(case, jobs: SeededJobs) -> dict:
    """Return `case`'s path parameters naming the seeded jobs, so its body is read for real."""
    roma = case.operation.path.startswith("/v2/")
    seeded = {
        "id": jobs.progress_id,
        "course_id": jobs.course_id,
        "version": "5.0",
        "job_id": jobs.asset_job_id if roma else jobs.async_status_id,
        "family": "async_status",
        "project_id": jobs.project_id,
        "instance_id": jobs.instance_id,
        "archive_id": jobs.archive_id,
        "project": jobs.project_id,
        "operation": jobs.operation_id,
    }
    return {name: seeded.get(name, value) for name, value in (case.path_parameters or {}).items()}


def seeded_requests(jobs: SeededJobs) -> dict[str, dict]:
    """Return, by operation id, a request that reaches a seeded job (or logs in) for real."""
    roma = {"project_id": jobs.project_id, "instance_id": jobs.instance_id}
    project = {"project": jobs.project_id}
    return {
        "progress_retrieve": {"path_parameters": {"id": jobs.progress_id}},
        "progress_cancel": {
            "path_parameters": {"id": jobs.progress_id},
            "body": {"message": "Stopped by the contract test."},
            "media_type": "application/json",
        },
        "progress_list": {"query": {"per_page": 1}},
        "progress_lti_retrieve": {
            "path_parameters": {"course_id": jobs.course_id, "id": jobs.progress_id},
            "headers": {"Authorization": f"Bearer {jobs.lti_key}"},
        },
        "async_status_retrieve": {
            "path_parameters": {"version": "4.0", "job_id": jobs.async_status_id}
        },
        "async_status_list": {"path_parameters": {"version": "5.0"}, "query": {"limit": 1}},
        "user_login": {
            "path_parameters": {"version": "5.0"},
            "body": {"u": jobs.username, "p": PASSWORD},
            "media_type": "application/json",
        },
        "user_logout": {"path_parameters": {"version": "5.0"}},
        "asset_job_retrieve": {"path_parameters": {**roma, "job_id": jobs.asset_job_id}},
        "asset_job_list": {"path_parameters": roma, "query": {"limit": 1}},
        "asset_archive_download": {"path_parameters": {**roma, "archive_id": jobs.archive_id}},
        "operation_get": {"path_parameters": {**project, "operation": jobs.operation_id}},
        "operation_list": {"path_parameters": project, "query": {"pageSize": 1}},
        "operation_cancel": {
            "path_parameters": {**project, "operation": jobs.operation_id},
            "body": {},
            "media_type": "application/json",
        },
        "operation_delete": {"path_parameters": {**project, "operation": jobs.done_operation_id}},
        "operation_wait": {
            "path_parameters": {**project, "operation": jobs.operation_id},
            "body": {"timeout": "0.1s"},
            "media_type": "application/json",
        },
        "job_timeline_retrieve": {
            "path_parameters": {"family": "async_status", "job_id": str(jobs.async_status_id)}
        },
        "webhook_endpoint_list": {},
    }


@pytest.mark.parametrize(
    "operation_id",
    [
        "progress_retrieve",
        "progress_cancel",
        "progress_list",
        "progress_lti_retrieve",
        "async_status_retrieve",
        "async_status_list",
        "user_login",
        "user_logout",
        "asset_job_retrieve",
        "asset_job_list",
        "asset_archive_download",
        "operation_get",
        "operation_list",
        "operation_cancel",
        "operation_delete",
        "operation_wait",
        "job_timeline_retrieve",
        "webhook_endpoint_list",
    ],
)
def test_a_request_reaching_a_seeded_job_answers_200_as_the_schema_says(
    live_server, contract_headers, seeded_jobs, operation_id
):
    request = seeded_requests(seeded_jobs)[operation_id]
    headers = {**contract_headers, **request.pop("headers", {})}
    case = SCHEMA.find_operation_by_id(operation_id).Case(**request)

    response = check_case(case, base_url=live_server.url, headers=headers)

    assert response.status_code == HTTPStatus.OK


def test_a_response_the_schema_misdescribes_fails_with_a_reproducing_request(
    live_server, contract_headers
):
    case = MISDESCRIBED.find_operation_by_path("GET", "/api/schema/").Case()

    with pytest.raises(FailureGroup, match="Undocumented Content-Type") as failure:
        check_case(case, base_url=live_server.url, headers=contract_headers)

    reproduction = f"curl -X GET -H 'Authorization: [Filtered]' {live_server.url}/api/schema/"
    assert reproduction in str(failure.value)
