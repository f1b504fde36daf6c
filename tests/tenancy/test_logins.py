"""Both logins (the admin's form and Traffic Ops' API) share one rate limit per username and
client address; only wrong credentials count; proxy headers count only from trusted proxies."""

import json
from http import HTTPStatus

import pytest
from django.contrib.auth.backends import ModelBackend
from django.db import OperationalError
from django.test import Client

from tenancy.throttling import MAX_FAILURES

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"
ADMIN_LOGIN = "/admin/login/"
PROXY = "10.0.0.2"


@pytest.fixture
def staff(tenant, make_member):
    return make_member(tenant, "operations", username="edge-ops", is_staff=True)


def admin_login(client: Client, password: str, **extra):
    form = {"username": "edge-ops", "password": password, "next": "/admin/"}
    return client.post(ADMIN_LOGIN, form, **extra)


def api_login(client: Client, password: str, **extra):
    body = json.dumps({"u": "edge-ops", "p": password})
    return client.post("/api/5.0/user/login", body, content_type="application/json", **extra)


def test_the_admin_login_is_throttled_after_repeated_wrong_passwords(staff):
    client = Client()
    for _ in range(MAX_FAILURES):
        assert admin_login(client, "guess").status_code == HTTPStatus.OK  # the form again

    response = admin_login(client, PASSWORD)

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert int(response["Retry-After"]) > 0
    assert "Too many failed login attempts" in response.content.decode()
    assert "sessionid" not in response.cookies


@pytest.mark.parametrize(
    ("guess", "then"), [(api_login, admin_login), (admin_login, api_login)], ids=["api", "admin"]
)
def test_failures_at_one_login_count_at_the_other(staff, guess, then):
    for _ in range(MAX_FAILURES):
        guess(Client(), "guess")

    assert then(Client(), PASSWORD).status_code == HTTPStatus.TOO_MANY_REQUESTS


@pytest.mark.parametrize("login", [api_login, admin_login], ids=["api", "admin"])
def test_errors_while_checking_a_password_do_not_count(staff, login, monkeypatch):
    def database_down(*args, **kwargs):
        raise OperationalError("the database is unreachable")

    with monkeypatch.context() as patched:
        patched.setattr(ModelBackend, "authenticate", database_down)
        for _ in range(MAX_FAILURES + 1):
            assert (
                login(Client(raise_request_exception=False), PASSWORD).status_code
                == HTTPStatus.SERVICE_UNAVAILABLE
            )

    assert login(Client(), PASSWORD).status_code in (HTTPStatus.OK, HTTPStatus.FOUND)


def test_forwarded_for_from_an_untrusted_peer_does_not_pick_the_counted_address(staff):
    for index in range(MAX_FAILURES):
        api_login(Client(), "guess", HTTP_X_FORWARDED_FOR=f"203.0.113.{index}")

    response = api_login(Client(), PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.99")

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS


def test_a_trusted_proxy_names_the_client_whose_failures_count(staff, settings):
    settings.JOBDESK_TRUSTED_PROXIES = ["10.0.0.0/24"]
    locked = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "203.0.113.1"}
    for _ in range(MAX_FAILURES):
        api_login(Client(), "guess", **locked)

    other_client = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "203.0.113.2, 10.0.0.9"}
    assert api_login(Client(), PASSWORD, **locked).status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert api_login(Client(), PASSWORD, **other_client).status_code == HTTPStatus.OK


@pytest.mark.parametrize(
    ("trusted", "peer", "secure"),
    [
        ([], "198.51.100.4", False),
        ([], "127.0.0.1", False),
        (["10.0.0.0/24"], "198.51.100.4", False),
        (["10.0.0.0/24"], PROXY, True),
        (["10.0.0.2", "::1"], PROXY, True),
    ],
)
def test_forwarded_proto_makes_a_request_secure_only_from_a_trusted_proxy(
    settings, trusted, peer, secure
):
    settings.JOBDESK_TRUSTED_PROXIES = trusted
    settings.SECURE_SSL_REDIRECT = True

    response = Client().get("/", REMOTE_ADDR=peer, HTTP_X_FORWARDED_PROTO="https")

    assert (response.status_code != HTTPStatus.MOVED_PERMANENTLY) == secure
