"""Contract checks: a request made from the schema, answered as the schema says it is."""

import os
from http import HTTPStatus

from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.core.failures import ServerError
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

TRAFFIC_OPS_PATHS = "/api/{version}/"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def not_a_crash(ctx: CheckContext, response: Response, case: Case) -> None:
    """Fail on a 5xx, except Traffic Ops' deliberate 501 for an API version not served."""
    status = response.status_code
    unserved_version = status == HTTPStatus.NOT_IMPLEMENTED and case.operation.path.startswith(
        TRAFFIC_OPS_PATHS
    )
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR and not unserved_version:
        raise ServerError(operation=case.operation.label, status_code=status)


# Operations that deliberately accept some values their schema forbids, and why.
LENIENT_OPERATIONS = {
    "progress_list": "as Canvas, a `per_page` over 100 means 100 and junk means the default",
}


def rejection_checks(case: Case) -> list:
    """Return the checks for a request the schema forbids: no crash, and (mostly) a 4xx."""
    if case.operation.definition.raw.get("operationId") in LENIENT_OPERATIONS:
        return [not_a_crash]
    return [not_a_crash, negative_data_rejection]


# Bounded and repeatable in CI; raise JOBDESK_FUZZ_EXAMPLES for a deeper local run.
FUZZ_SETTINGS = settings(
    max_examples=int(os.environ.get("JOBDESK_FUZZ_EXAMPLES", "10")),
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def check_case(
    case: Case, *, base_url: str, headers: dict[str, str], checks: list = CHECKS
) -> Response:
    """Send `case` to `base_url`; fail, with a curl line reproducing it, on any broken contract."""
    return case.call_and_validate(base_url=base_url, headers=headers, checks=checks)
