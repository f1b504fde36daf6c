"""Malformed ids and paths: 4xx alerts, never a 500, nothing changed."""

from http import HTTPStatus

import pytest

from tests.async_status.helpers import VERSIONS, snapshot

pytestmark = pytest.mark.django_db

BAD_ID = "getting integer parameters: parameter 'id' not an integer"


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    "job_id",
    [
        "abc",
        "1.5",
        "1e3",
        "0x10",
        "1_000",
        " 1",
        "1 ",
        "%201",
        "1%0A",
        "١٢",
        "5.json",
        "9223372036854775808",
        "-9223372036854775809",
        "9" * 20,
        "9" * 10_000,
        "1" + "0" * 4400,
        "%00",
        "--1",
    ],
)
def test_non_integer_ids_are_400_and_change_nothing(api_client, ops_headers, job, version, job_id):
    before = snapshot(job)

    response = api_client.get(f"/api/{version}/async_status/{job_id}", **ops_headers)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"alerts": [{"text": BAD_ID, "level": "error"}]}
    assert snapshot(job) == before


@pytest.mark.parametrize(
    "job_id", ["0", "-1", "-9223372036854775808", "9223372036854775807", "+0", "0" * 30]
)
def test_integers_outside_any_job_are_404(api_client, ops_headers, job, job_id):
    response = api_client.get(f"/api/5.0/async_status/{job_id}", **ops_headers)

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == {"alerts": [{"text": "Not Found", "level": "error"}]}


@pytest.mark.parametrize("spelling", ["+{pk}", "00{pk}", "{zeros}{pk}"])
def test_signed_and_zero_padded_ids_read_the_job_as_traffic_ops_does(
    api_client, ops_headers, job, spelling
):
    job_id = spelling.format(pk=job.pk, zeros="0" * 40)

    response = api_client.get(f"/api/5.0/async_status/{job_id}", **ops_headers)

    assert response.status_code == HTTPStatus.OK
    assert response.json()["response"]["id"] == job.pk


@pytest.mark.parametrize(
    "path",
    [
        "/api/5.0/async_status/1/%2F",
        "/api/5.0/" + "x" * 10_000,
        "/api/5.0/async_status/1%0A/extra",
        "/api/5.0/\x00",
    ],
)
def test_junk_paths_are_404_alerts(api_client, path):
    response = api_client.get(path)

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["alerts"][0]["text"].startswith("The requested path '")


@pytest.mark.parametrize("version", ["9" * 5000, "4.0%0A", "4.0%2E1", "4" + ".0" * 50])
def test_junk_versions_are_501_alerts(api_client, version):
    response = api_client.get(f"/api/{version}/async_status/1")

    assert response.status_code == HTTPStatus.NOT_IMPLEMENTED
    assert response.json()["alerts"][0]["level"] == "error"


def test_a_body_on_a_read_is_ignored(api_client, ops_headers, job):
    response = api_client.generic(
        "GET",
        f"/api/5.0/async_status/{job.pk}",
        "{not json",
        content_type="application/json",
        **ops_headers,
    )

    assert response.status_code == HTTPStatus.OK
