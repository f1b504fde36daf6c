"""Contract fuzzing: every operation of schema.yml, authenticated, against the live server."""

import pytest
import schemathesis
from schemathesis.core.failures import FailureGroup

from tests.e2e.contract import FUZZ_SETTINGS, check_case
from tests.e2e.openapi import SCHEMA_PATH, committed_operations

pytestmark = pytest.mark.e2e

SCHEMA = schemathesis.openapi.from_path(SCHEMA_PATH)
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
    def test_every_operation_answers_as_the_schema_says(case, live_server, contract_headers):
        check_case(case, base_url=live_server.url, headers=contract_headers)

else:

    def test_every_operation_answers_as_the_schema_says():
        pytest.skip("schema.yml describes no operation yet")


def test_a_response_the_schema_misdescribes_fails_with_a_reproducing_request(
    live_server, contract_headers
):
    case = MISDESCRIBED.find_operation_by_path("GET", "/api/schema/").Case()

    with pytest.raises(FailureGroup, match="Undocumented Content-Type") as failure:
        check_case(case, base_url=live_server.url, headers=contract_headers)

    reproduction = f"curl -X GET -H 'Authorization: [Filtered]' {live_server.url}/api/schema/"
    assert reproduction in str(failure.value)
