"""A token's scopes narrow its owner's rights on every write, the creator's own jobs included."""

import json
from http import HTTPStatus

import pytest

from tests.jobs.drivers import drivers
from tests.jobs.test_hostile_bodies import app_rows

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("family", drivers(), ids=lambda family: family.name)
def test_a_read_scoped_token_changes_nothing_even_on_its_owners_jobs(
    api_client, settings, tenant, make_member, make_token, family
):
    family.serve_bodies(settings)
    owner = make_member(tenant, "admin")
    job = family.make(tenant, user=owner)
    headers = family.headers(make_token(owner, tenant, scopes=[family.family.read_permission]))
    before = app_rows(family)
    writes = {
        name: endpoint
        for name, endpoint in family.body_endpoints(job).items()
        if name not in family.body_reads
    }

    answers = {
        name: api_client.generic(
            method, path, json.dumps(body), content_type="application/json", **headers
        ).status_code
        for name, (method, path, body) in writes.items()
    }

    assert answers == dict.fromkeys(writes, HTTPStatus.FORBIDDEN)
    assert app_rows(family) == before
