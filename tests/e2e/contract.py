"""Contract checks: a request made from the schema, answered as the schema says it is."""

import os

from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Bounded and repeatable in CI; raise JOBDESK_FUZZ_EXAMPLES for a deeper local run.
FUZZ_SETTINGS = settings(
    max_examples=int(os.environ.get("JOBDESK_FUZZ_EXAMPLES", "10")),
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def check_case(case: Case, *, base_url: str, headers: dict[str, str]) -> Response:
    """Send `case` to `base_url`; fail, with a curl line reproducing it, on any broken contract."""
    return case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS)
