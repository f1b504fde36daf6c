"""The API docs pages render in a real browser from the live server, with no outside request."""

import pytest

from tests.e2e.browser import external_requests, save_screenshot
from tests.e2e.openapi import committed_operations

pytestmark = [pytest.mark.e2e, pytest.mark.long]


def test_swagger_ui_shows_every_operation_without_leaving_the_machine(
    live_server, page, page_requests
):
    page.goto(f"{live_server.url}/api/docs/")

    page.locator(".swagger-ui .information-container .title").wait_for()
    save_screenshot(page, "api-docs-swagger-ui")
    assert "jobdesk API" in page.locator(".swagger-ui .info .title").inner_text()
    assert page.locator(".swagger-ui .errors-wrapper").count() == 0
    shown = page.locator(".swagger-ui .opblock .opblock-summary-operation-id").all_inner_texts()
    assert sorted(shown) == sorted(op["operationId"] for op in committed_operations())
    assert any(url.endswith("/api/schema/") for url in page_requests)
    assert external_requests(page_requests) == []


def test_redoc_renders_without_leaving_the_machine(live_server, page, page_requests):
    page.goto(f"{live_server.url}/api/redoc/")

    page.locator(".api-info h1").wait_for()
    save_screenshot(page, "api-docs-redoc")
    assert "jobdesk API" in page.locator(".api-info h1").inner_text()
    assert any(url.endswith("/api/schema/") for url in page_requests)
    assert external_requests(page_requests) == []
