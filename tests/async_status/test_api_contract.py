"""The wire contract a Traffic Ops client relies on: shapes, texts and statuses."""

from datetime import UTC, datetime
from http import HTTPStatus

import pytest

from async_status.errors import VERSION_NOT_IMPLEMENTED
from async_status.models import AsyncStatus
from async_status.services import async_status_finish
from tests.async_status.helpers import VERSIONS

pytestmark = pytest.mark.django_db


def error(text: str) -> dict:
    return {"alerts": [{"text": text, "level": "error"}]}


@pytest.mark.parametrize("version", VERSIONS)
def test_pending_job_has_the_documented_shape_with_null_end_time(
    api_client, ops_headers, job, version
):
    AsyncStatus.objects.across_tenants().filter(pk=job.pk).update(
        start_time=datetime(2021, 2, 18, 17, 13, 56, 352261, tzinfo=UTC)
    )

    response = api_client.get(f"/api/{version}/async_status/{job.pk}", **ops_headers)

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body == {
        "response": {
            "id": job.pk,
            "status": "PENDING",
            "start_time": "2021-02-18T17:13:56.352261Z",
            "end_time": None,
            "message": "Async job has started.",
        }
    }
    assert list(body) == ["response"]
    assert list(body["response"]) == ["id", "status", "start_time", "end_time", "message"]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("succeeded", [True, False])
def test_finished_job_is_200_with_its_end_time_and_no_alerts(
    api_client, ops_headers, job, version, succeeded
):
    async_status_finish(job, succeeded=succeeded, message="ACME renewal complete.")
    AsyncStatus.objects.across_tenants().filter(pk=job.pk).update(
        end_time=datetime(2021, 2, 18, 17, 14, 30, 123400, tzinfo=UTC)
    )

    response = api_client.get(f"/api/{version}/async_status/{job.pk}", **ops_headers)

    assert response.status_code == HTTPStatus.OK
    assert "alerts" not in response.json()
    payload = response.json()["response"]
    assert payload["status"] == ("SUCCEEDED" if succeeded else "FAILED")
    assert payload["end_time"] == "2021-02-18T17:14:30.1234Z"
    assert payload["message"] == "ACME renewal complete."


@pytest.mark.parametrize(
    ("microsecond", "rendered"),
    [
        (352261, "2021-02-18T17:13:56.352261Z"),
        (350000, "2021-02-18T17:13:56.35Z"),
        (1, "2021-02-18T17:13:56.000001Z"),
        (0, "2021-02-18T17:13:56Z"),
    ],
)
def test_times_are_rfc3339_utc_with_trailing_zeros_trimmed(
    api_client, ops_headers, job, microsecond, rendered
):
    AsyncStatus.objects.across_tenants().filter(pk=job.pk).update(
        start_time=datetime(2021, 2, 18, 17, 13, 56, microsecond, tzinfo=UTC)
    )

    response = api_client.get(f"/api/5.0/async_status/{job.pk}", **ops_headers)

    assert response.json()["response"]["start_time"] == rendered


@pytest.mark.parametrize("version", VERSIONS)
def test_missing_credentials_are_401_unauthorized(api_client, job, version):
    response = api_client.get(f"/api/{version}/async_status/{job.pk}")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == error("unauthorized, please log in.")


@pytest.mark.parametrize("version", VERSIONS)
def test_missing_permission_is_403_naming_it(api_client, tenant, bearer, job, version):
    response = api_client.get(
        f"/api/{version}/async_status/{job.pk}", **bearer(tenant, "read-only")
    )

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json() == error("missing required Permissions: ASYNC-STATUS:READ")


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("job_id", ["abc", "1.5", "1e3", "9223372036854775808"])
def test_non_integer_id_is_400(api_client, ops_headers, version, job_id):
    response = api_client.get(f"/api/{version}/async_status/{job_id}", **ops_headers)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == error("getting integer parameters: parameter 'id' not an integer")


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("job_id", ["0", "-1", "999999", "9223372036854775807"])
def test_unknown_integer_id_is_404_not_found(api_client, ops_headers, job, version, job_id):
    response = api_client.get(f"/api/{version}/async_status/{job_id}", **ops_headers)

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == error("Not Found")


@pytest.mark.parametrize(
    "version", ["3.0", "3.1", "4.2", "5.1", "6.0", "1.0", "4", "4.0.1", "04.0"]
)
@pytest.mark.parametrize("tail", ["async_status/1", "async_status", "", "user/login"])
def test_versions_not_served_are_501_whatever_the_path(api_client, version, tail):
    response = api_client.get(f"/api/{version}/{tail}")

    assert response.status_code == HTTPStatus.NOT_IMPLEMENTED
    assert response.json() == error(VERSION_NOT_IMPLEMENTED)


def test_501_and_unknown_path_answer_any_method(api_client):
    assert api_client.delete("/api/6.0/async_status/1").status_code == HTTPStatus.NOT_IMPLEMENTED
    assert api_client.put("/api/5.0/nothing/here").status_code == HTTPStatus.NOT_FOUND


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    "tail",
    [
        "async_status/",
        "async_status/1/",
        "async_status/1/extra",
        "asyncstatus/1",
        "",
        "user/login/",
    ],
)
def test_unknown_paths_under_a_served_version_are_404_naming_the_path(api_client, version, tail):
    path = f"/api/{version}/{tail}"

    response = api_client.get(path)

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == error(f"The requested path '{path}' does not exist.")


@pytest.mark.parametrize("version", ["4.0", "4.1"])
def test_the_list_is_not_part_of_the_4x_api(api_client, ops_headers, version):
    path = f"/api/{version}/async_status"

    response = api_client.get(path, **ops_headers)

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == error(f"The requested path '{path}' does not exist.")


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("method", ["post", "patch", "delete", "options"])
def test_wrong_method_on_a_known_path_is_405_with_allow_before_authentication(
    api_client, job, version, method
):
    path = f"/api/{version}/async_status/{job.pk}"

    response = getattr(api_client, method)(path)

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response["Allow"] == "GET, HEAD, PUT"
    assert response.json() == error(
        f"The requested method '{method.upper()}' is not allowed on '{path}'."
    )
    assert AsyncStatus.objects.across_tenants().get(pk=job.pk).status == "PENDING"


@pytest.mark.parametrize("endpoint", ["login", "logout"])
def test_get_on_login_and_logout_is_405_allowing_post(api_client, endpoint):
    response = api_client.get(f"/api/5.0/user/{endpoint}")

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response["Allow"] == "POST"
    assert response.json()["alerts"][0]["level"] == "error"


def test_accept_header_does_not_change_the_json_answer(api_client, ops_headers, job):
    response = api_client.get(
        f"/api/5.0/async_status/{job.pk}", HTTP_ACCEPT="text/html", **ops_headers
    )

    assert response.status_code == HTTPStatus.OK
    assert response.json()["response"]["id"] == job.pk


@pytest.mark.parametrize("path", ["/api/v1/progress/1", "/api/lti/courses/1/progress/1"])
def test_canvas_prefixes_are_not_answered_by_traffic_ops_routes(api_client, path):
    response = api_client.get(path)

    assert "alerts" not in response.content.decode()


def test_an_unexpected_error_is_a_500_alert_not_an_html_page(
    api_client, ops_headers, job, monkeypatch
):
    def explode(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(
        "async_status.views.AsyncStatusResourceView.poll_object", explode, raising=True
    )

    response = api_client.get(f"/api/5.0/async_status/{job.pk}", **ops_headers)

    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert response.json() == error("Internal Server Error")
    assert "database on fire" not in response.content.decode()


def test_head_is_answered_on_a_job_like_get(api_client, ops_headers, job):
    response = api_client.head(f"/api/5.0/async_status/{job.pk}", **ops_headers)

    assert response.status_code == HTTPStatus.OK
