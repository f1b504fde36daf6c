"""The landing page at `/`, the admin's "View site" link to it, and the docs it links to."""

from http import HTTPStatus
from io import StringIO

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_the_landing_page_says_what_jobdesk_is_and_links_its_pages(client):
    response = client.get("/")

    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert "records asynchronous jobs" in page
    for link in (
        'href="/admin/"',
        'href="/api/docs/"',
        'href="/api/redoc/"',
        'href="/docs/index.md"',
    ):
        assert link in page
    for family in ("Canvas progress", "async_status", "asset_jobs"):
        assert family in page


def test_the_landing_page_shows_the_demos_ready_curl_lines_once_the_demo_ran(
    client, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path
    settings.DEBUG = True
    assert "curl" not in client.get("/").content.decode()
    call_command("demo", allow_without_debug=True, stdout=StringIO())

    page = client.get("/", HTTP_HOST="127.0.0.1:8123").content.decode()

    assert "jd_demo_acme_ops" in page
    assert "http://127.0.0.1:8123/api/v1/progress?workflow_state=running" in page
    assert "http://127.0.0.1:8123/api/5.0/async_status?status=PENDING" in page
    assert "/v2/a1b2c3d4e5f6478899aabbccddeeff01/instances/roma-demo-instance/assets/jobs" in page


def test_without_debug_the_landing_page_shows_no_demo_keys(client, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    call_command("demo", allow_without_debug=True, stdout=StringIO())
    settings.DEBUG = False

    page = client.get("/").content.decode()

    assert "jd_demo" not in page
    assert "jobdesk-demo" not in page


def test_the_admins_view_site_link_leads_to_the_landing_page(admin_client):
    index = admin_client.get("/admin/").content.decode()

    assert 'href="/">View site</a>' in index
    assert admin_client.get("/").status_code == HTTPStatus.OK


@pytest.mark.parametrize("page", ["/docs/index.md", "/docs/api/progress.md", "/README.md"])
def test_the_documentation_is_served_as_plain_text(client, page):
    response = client.get(page)

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert b"jobdesk" in b"".join(response.streaming_content)


@pytest.mark.parametrize(
    "page",
    [
        "/docs/../config/settings.py",
        "/docs/..%2F..%2Fetc%2Fpasswd",
        "/docs/../pyproject.toml",
        "/docs/missing.md",
        "/docs/",
        "/docs/%00.md",
    ],
)
def test_nothing_but_the_documentation_is_served_from_the_checkout(client, page):
    assert client.get(page).status_code == HTTPStatus.NOT_FOUND
