"""A Python client generated from schema.yml builds, imports and reaches the live server."""

import importlib
import pkgutil
from http import HTTPStatus

import pytest

from tests.e2e.openapi import committed_tags

pytestmark = pytest.mark.e2e


def test_generated_client_imports_cleanly_with_one_api_package_per_family_tag(generated_client):
    prefix = f"{generated_client.__name__}."
    for info in pkgutil.walk_packages(generated_client.__path__, prefix):
        importlib.import_module(info.name)
    api = importlib.import_module(f"{prefix}api")

    assert {info.name for info in pkgutil.iter_modules(api.__path__)} == committed_tags()
    assert callable(generated_client.AuthenticatedClient)


@pytest.mark.parametrize(
    ("scheme", "header", "value"),
    [("bearer", "Authorization", "Bearer {key}"), ("x-auth-token", "X-Auth-Token", "{key}")],
)
def test_generated_client_sends_the_key_in_the_schemes_header_to_the_live_server(
    make_generated_client, tenant_admin_key, scheme, header, value
):
    http = make_generated_client(tenant_admin_key, scheme=scheme).get_httpx_client()

    assert http.headers[header] == value.format(key=tenant_admin_key)
    assert http.get("/api/schema/").status_code == HTTPStatus.OK


def test_generated_client_without_a_key_sends_no_credentials(make_generated_client):
    http = make_generated_client().get_httpx_client()

    assert "Authorization" not in http.headers
    assert "X-Auth-Token" not in http.headers
