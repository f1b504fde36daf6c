"""A producer finishing a job again with other data is told 409, and the first data stays."""

import json
from http import HTTPStatus

import pytest

from tests.jobs.drivers import drivers
from tests.jobs.test_hostile_bodies import app_rows

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("family", drivers(), ids=lambda family: family.name)
def test_finishing_a_finished_job_with_other_data_is_409_and_changes_nothing(
    api_client, tenant, make_member, make_token, family
):
    job = family.insert(tenant)
    headers = family.headers(make_token(make_member(tenant, "admin"), tenant))
    method, path, _ = family.body_endpoints(job)["update"]

    def report(body: dict):
        return api_client.generic(
            method, path, json.dumps(body), content_type="application/json", **headers
        )

    assert report(family.finishing_report).status_code == HTTPStatus.OK
    finished = app_rows(family)

    response = report({**family.finishing_report, **family.refinish_with})

    assert (response.status_code, family.error_key in response.json()) == (
        HTTPStatus.CONFLICT,
        True,
    )
    assert app_rows(family) == finished
