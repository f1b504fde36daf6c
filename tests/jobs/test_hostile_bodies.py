"""Hostile requests on every endpoint of every family that reads a body.

Each endpoint (producers' creates and updates, cancels, logins) is sent, with an admin's
token, bodies nested 3,000 deep, NUL characters and lone surrogates, numbers of 400 digits,
bodies over the limit, chunked bodies and NUL in the query string. The answer is the
family's own 4xx envelope, never a 5xx or an HTML page, and no row of the family's app
changes.
"""

import json
from collections.abc import Iterator
from http import HTTPStatus

import pytest
from django.apps import apps

from tests.jobs.drivers import FamilyDriver, drivers

pytestmark = pytest.mark.django_db

DEPTH = 3_000
DEEP = "[" * DEPTH + "]" * DEPTH

# Raw JSON put in place of one top-level field's value, one field at a time.
FIELD_VALUES = {
    "nul": json.dumps("a\x00b"),
    "lone-surrogate": '"a\\ud800b"',
    "400-digits": "9" * 400,
    "minus-400-digits": "-" + "9" * 400,
    "1e400": "1e400",
    "nested": DEEP,
}

# Raw bodies sent instead of the endpoint's valid body.
BODIES = {
    "nested-arrays": DEEP,
    "nested-objects": '{"a":' * DEPTH + "1" + "}" * DEPTH,
}


def with_field(body: dict, field: str, raw: str) -> str:
    """Return `body` as JSON text with the value of `field` replaced by the raw JSON `raw`."""
    mark = "\u2603replace\u2603"
    return json.dumps({**body, field: mark}).replace(json.dumps(mark), raw)


def hostile_requests(variant: str, body: dict) -> Iterator[tuple[str, str, dict]]:
    """Yield (query string, raw body, extra request headers) of `variant` for a valid `body`."""
    if variant in FIELD_VALUES:
        for field in body:
            yield "", with_field(body, field, FIELD_VALUES[variant]), {}
    elif variant in BODIES:
        yield "", BODIES[variant], {}
    elif variant == "nul-key":
        yield "", json.dumps({**body, "a\x00": 1}), {}
    elif variant == "nul-query":
        yield "?x=%00", json.dumps(body), {}
        yield "?%00=1", json.dumps(body), {}
    elif variant == "chunked":
        # What a WSGI server hands Django for a chunked body: no length, no body read.
        yield "", "", {"HTTP_TRANSFER_ENCODING": "chunked"}
    elif variant == "over-the-limit":
        yield "", json.dumps({**body, "padding": "x" * (1024 * 1024)}), {}


VARIANTS = [*FIELD_VALUES, *BODIES, "nul-key", "nul-query", "chunked", "over-the-limit"]


def expected_status(family: FamilyDriver, variant: str) -> int:
    """Return the status `family` answers a hostile request of `variant` with."""
    if variant == "chunked":
        return family.length_required_status
    if variant == "over-the-limit":
        return family.body_too_large_status
    return HTTPStatus.BAD_REQUEST


def app_rows(family: FamilyDriver) -> dict[str, list]:
    """Return every row of every model of the family's app, to prove nothing changed."""
    app = family.model._meta.app_config
    return {
        model.__name__: list(model._base_manager.order_by("pk").values())
        for model in apps.get_app_config(app.label).get_models()
    }


def in_envelope(response, family: FamilyDriver) -> bool:
    """Return whether `response` is a JSON body in the family's error envelope."""
    if "json" not in response.get("Content-Type", ""):
        return False
    return family.error_key in response.json()


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("family", drivers(), ids=lambda family: family.name)
def test_hostile_bodies_get_the_familys_4xx_and_change_nothing(
    api_client, settings, tenant, make_member, make_token, family, variant
):
    family.serve_bodies(settings)
    job = family.make(tenant)
    headers = family.headers(make_token(make_member(tenant, "admin"), tenant))
    before = app_rows(family)
    answers = {}

    for name, (method, path, body) in family.body_endpoints(job).items():
        for index, (query, raw, extra) in enumerate(hostile_requests(variant, body)):
            response = api_client.generic(
                method, path + query, raw, content_type="application/json", **headers, **extra
            )
            answers[f"{name}#{index}"] = (response.status_code, in_envelope(response, family))

    expected = (expected_status(family, variant), True)
    wrong = {key: answer for key, answer in answers.items() if answer != expected}
    assert answers
    assert not wrong, f"expected {expected}"
    assert app_rows(family) == before
