"""/healthz answers without touching anything; /readyz checks the database and the cache."""

import json
from http import HTTPStatus

import pytest
from django.db import OperationalError

pytestmark = pytest.mark.django_db


def test_healthz_answers_ok_and_runs_no_query(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")

    assert response.status_code == HTTPStatus.OK
    assert response.content == b"ok\n"
    assert "no-cache" in response["Cache-Control"]


def test_readyz_answers_ok_when_the_database_and_the_cache_answer(client):
    response = client.get("/readyz")

    assert response.status_code == HTTPStatus.OK
    assert json.loads(response.content) == {"ready": True, "database": "ok", "cache": "ok"}


def test_readyz_is_503_and_names_the_database_when_it_is_unreachable(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(
        "ops.views.connections", {"default": type("Down", (), {"cursor": refuse})()}
    )

    response = client.get("/readyz")

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    body = json.loads(response.content)
    assert body == {"ready": False, "database": "unreachable (OperationalError)", "cache": "ok"}
    assert client.get("/healthz").status_code == HTTPStatus.OK


def test_readyz_is_503_and_names_the_cache_when_it_is_unreachable(client, monkeypatch):
    class Down:
        def get(self, key):
            raise ConnectionError("no route to host")

    monkeypatch.setattr("ops.views.caches", {"default": Down()})

    response = client.get("/readyz")

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert json.loads(response.content)["cache"] == "unreachable (ConnectionError)"


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_refuse_other_methods_with_405(client, path):
    assert client.post(path).status_code == HTTPStatus.METHOD_NOT_ALLOWED


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_probes_are_not_redirected_to_https(client, settings, path):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get(path).status_code == HTTPStatus.OK
    assert client.get("/admin/login/").status_code == HTTPStatus.MOVED_PERMANENTLY
