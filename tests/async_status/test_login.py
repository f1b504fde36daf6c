"""Traffic Ops login and logout: a session cookie, the original texts, rate limiting."""

import json
from http import HTTPStatus

import pytest
from django.test import Client

from tenancy.throttling import MAX_FAILURES, WINDOW_SECONDS
from tests.async_status.helpers import VERSIONS

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"
LOGGED_IN = {"alerts": [{"text": "Successfully logged in.", "level": "success"}]}
INVALID = {"alerts": [{"text": "Invalid username or password.", "level": "error"}]}


@pytest.fixture
def ops_user(tenant, make_member):
    return make_member(tenant, "operations", username="acme-ops")


@pytest.fixture
def client() -> Client:
    """A plain test client with a cookie jar; sends bodies exactly as given."""
    return Client()


def post_login(client, body, version="5.0", **extra):
    payload = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(
        f"/api/{version}/user/login", payload, content_type="application/json", **extra
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_login_then_read_then_logout_then_401(client, ops_user, job, version):
    response = post_login(client, {"u": "acme-ops", "p": PASSWORD}, version)
    assert response.status_code == HTTPStatus.OK
    assert response.json() == LOGGED_IN
    assert "sessionid" in response.cookies

    read = client.get(f"/api/{version}/async_status/{job.pk}")
    assert read.status_code == HTTPStatus.OK
    assert read.json()["response"]["id"] == job.pk

    logout = client.post(f"/api/{version}/user/logout")
    assert logout.status_code == HTTPStatus.OK
    assert logout.json() == {"alerts": [{"text": "You are logged out.", "level": "success"}]}

    after = client.get(f"/api/{version}/async_status/{job.pk}")
    assert after.status_code == HTTPStatus.UNAUTHORIZED
    assert after.json()["alerts"][0]["text"] == "unauthorized, please log in."


def test_login_reads_json_whatever_the_content_type(client, ops_user):
    body = json.dumps({"u": "acme-ops", "p": PASSWORD})

    response = client.post(
        "/api/5.0/user/login", body, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == HTTPStatus.OK


def test_login_and_logout_work_without_a_csrf_token():
    client = Client(enforce_csrf_checks=True)

    assert post_login(client, {"u": "nobody", "p": "x"}).status_code == HTTPStatus.UNAUTHORIZED
    assert client.post("/api/5.0/user/logout").status_code == HTTPStatus.OK


@pytest.mark.parametrize("credentials", [("acme-ops", "wrong"), ("nobody", PASSWORD)])
def test_bad_credentials_are_401_without_a_session(client, ops_user, credentials):
    username, password = credentials

    response = post_login(client, {"u": username, "p": password})

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == INVALID
    assert "sessionid" not in response.cookies


def test_inactive_user_cannot_log_in(client, ops_user):
    ops_user.is_active = False
    ops_user.save()

    assert post_login(client, {"u": "acme-ops", "p": PASSWORD}).json() == INVALID


def test_a_user_without_the_permission_logs_in_but_reads_403(client, tenant, make_member, job):
    make_member(tenant, "read-only", username="reader")

    assert post_login(client, {"u": "reader", "p": PASSWORD}).status_code == HTTPStatus.OK
    response = client.get(f"/api/5.0/async_status/{job.pk}")

    assert response.status_code == HTTPStatus.FORBIDDEN


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({}, "username and password are required"),
        ({"u": "acme-ops"}, "username and password are required"),
        ({"p": PASSWORD}, "username and password are required"),
        ({"u": "", "p": ""}, "username and password are required"),
        ({"u": None, "p": PASSWORD}, "username and password are required"),
        ({"u": ["acme-ops"], "p": PASSWORD}, "username and password must be strings"),
        ({"u": "acme-ops", "p": 12345}, "username and password must be strings"),
        (
            {"u": "acme\x00ops", "p": PASSWORD},
            "username and password must be valid text without NUL",
        ),
        ('{"u": "\\ud800", "p": "x"}', "username and password must be valid text without NUL"),
        (
            '{"u": "acme-ops", "p": "\\udfff"}',
            "username and password must be valid text without NUL",
        ),
        ([], 'the login request body must be a JSON object: {"u": ..., "p": ...}'),
        ("null", 'the login request body must be a JSON object: {"u": ..., "p": ...}'),
        ('"u=acme-ops"', 'the login request body must be a JSON object: {"u": ..., "p": ...}'),
        ("", "the login request body is not valid JSON: Expecting value"),
        ("u=acme-ops&p=x", "the login request body is not valid JSON: Expecting value"),
        ('{"u": "acme-ops", "p": ', "the login request body is not valid JSON: Expecting value"),
        (b"\xff\xfe\xfa", "the login request body is not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, "the login request body is not valid JSON"),
    ],
    ids=[
        "empty-object",
        "no-password",
        "no-username",
        "empty-strings",
        "null-username",
        "list-username",
        "number-password",
        "nul-in-username",
        "lone-surrogate-username",
        "lone-surrogate-password",
        "array",
        "null",
        "string",
        "empty-body",
        "form-encoded",
        "truncated",
        "not-utf8",
        "deeply-nested",
    ],
)
def test_junk_login_bodies_are_400_alerts_and_log_nobody_in(client, ops_user, job, body, text):
    response = post_login(client, body)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    alert = response.json()["alerts"][0]
    assert alert["level"] == "error"
    assert alert["text"].startswith(text)
    assert "sessionid" not in response.cookies
    assert client.get(f"/api/5.0/async_status/{job.pk}").status_code == 401


def test_oversized_login_body_is_413_alerts(client):
    body = json.dumps({"u": "x", "p": "y" * (1024 * 1024)})

    response = post_login(client, body)

    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert response.json()["alerts"][0]["level"] == "error"


def test_repeated_failures_are_throttled_with_retry_after(client, ops_user):
    for _ in range(MAX_FAILURES):
        assert post_login(client, {"u": "acme-ops", "p": "guess"}).status_code == 401

    response = post_login(client, {"u": "acme-ops", "p": PASSWORD})

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert response.json() == {
        "alerts": [{"text": "too many failed login attempts, try again later.", "level": "error"}]
    }
    assert 0 < int(response["Retry-After"]) <= WINDOW_SECONDS
    assert "sessionid" not in response.cookies


def test_throttling_is_per_username_and_client_address(client, ops_user, tenant, make_member):
    make_member(tenant, "operations", username="other-ops")
    for _ in range(MAX_FAILURES):
        post_login(client, {"u": "acme-ops", "p": "guess"})

    other_user = post_login(client, {"u": "other-ops", "p": PASSWORD})
    other_address = post_login(
        Client(), {"u": "acme-ops", "p": PASSWORD}, REMOTE_ADDR="198.51.100.7"
    )

    assert other_user.status_code == HTTPStatus.OK
    assert other_address.status_code == HTTPStatus.OK


def test_a_successful_login_clears_the_failure_count(client, ops_user):
    for _ in range(MAX_FAILURES - 1):
        post_login(client, {"u": "acme-ops", "p": "guess"})
    assert post_login(client, {"u": "acme-ops", "p": PASSWORD}).status_code == HTTPStatus.OK

    for _ in range(MAX_FAILURES - 1):
        post_login(client, {"u": "acme-ops", "p": "guess"})

    assert post_login(client, {"u": "acme-ops", "p": PASSWORD}).status_code == HTTPStatus.OK


def test_cross_site_browser_login_is_refused(client, ops_user):
    response = post_login(
        client, {"u": "acme-ops", "p": PASSWORD}, HTTP_ORIGIN="https://evil.example"
    )

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["alerts"][0]["text"] == "cross-origin login requests are refused."
    assert "sessionid" not in response.cookies


def test_same_origin_browser_login_is_accepted(client, ops_user):
    response = post_login(client, {"u": "acme-ops", "p": PASSWORD}, HTTP_ORIGIN="http://testserver")

    assert response.status_code == HTTPStatus.OK


def test_logout_without_a_session_is_harmless(client):
    response = client.post("/api/4.0/user/logout")

    assert response.status_code == HTTPStatus.OK
    assert response.json()["alerts"][0]["text"] == "You are logged out."
