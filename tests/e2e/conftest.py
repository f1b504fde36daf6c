"""End-to-end fixtures: a headless browser, a client generated from schema.yml, API keys.

Tests here talk HTTP to pytest-django's `live_server` (a threaded server on the test
database, so every test here is transactional). Each module starts with
`pytestmark = pytest.mark.e2e`; the e2e tests run after every other test.
"""

import importlib
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Literal

import pytest
from playwright.sync_api import Browser, Page, Route, sync_playwright

from asset_jobs.models import AssetJob
from async_status.services import async_status_create, async_status_finish
from lro.models import Operation
from progress.family import LTI_PROGRESS_SHOW_SCOPE, PROGRESS_READ
from progress.models import Progress
from tests.asset_jobs.factories import InstanceFactory, make_export_with_package, make_job
from tests.e2e.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    chromium_missing_reason,
    is_local,
    must_have_browser,
)
from tests.e2e.openapi import SCHEMA_PATH
from tests.helpers import reseed_roles
from tests.lro.factories import make_operation
from tests.progress.factories import make_progress

OPENAPI_PYTHON_CLIENT = Path(sys.executable).with_name("openapi-python-client")
CLIENT_CONFIG = Path(__file__).with_name("openapi-python-client.yml")
CLIENT_PACKAGE = "jobdesk_client"
# tests.factories.UserFactory gives every user this password.
PASSWORD = "correct horse battery"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the e2e tests last: they are the slowest, and the browser outlives them (see below).

    Among them the `long` ones (several seconds each) start first: a parallel run hands out
    tests in this order, and would otherwise end with one worker running a fresh clone or a
    deployment while the others wait for it.
    """
    items.sort(
        key=lambda item: (
            item.get_closest_marker("e2e") is not None,
            item.get_closest_marker("long") is None,
        )
    )


@pytest.fixture(autouse=True)
def seeded_roles(transactional_db) -> None:
    """Seed the default roles again: a transactional test ends by flushing the database."""
    reseed_roles()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Return a headless Debian Chromium for the whole run (skip, or fail in CI, without it)."""
    reason = chromium_missing_reason()
    if reason:
        if must_have_browser():
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    # Playwright's sync API leaves its event loop marked running in this thread while the
    # browser lives, so Django would take every ORM call here for one made from async code.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page_requests() -> list[str]:
    """Return the URLs the test's `page` sent to the network so far, in order.

    A request the page itself refused (its Content-Security-Policy) never reaches the network
    and is not listed; one that would leave the machine is listed, then blocked.
    """
    return []


@pytest.fixture
def page(browser, page_requests) -> Iterator[Page]:
    """Return a page in a fresh browser context that records its requests in `page_requests`."""

    def keep_local(route: Route) -> None:
        page_requests.append(route.request.url)
        if is_local(route.request.url):
            route.continue_()
        else:
            route.abort("blockedbyclient")

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route("**/*", keep_local)
    yield context.new_page()
    context.close()


@pytest.fixture
def tenant_admin_key(tenant, make_member, make_token) -> str:
    """Return the raw API key of an `admin` of `tenant` (acme), who may do anything there."""
    user = make_member(tenant, "admin")
    return make_token(user, tenant)


@pytest.fixture
def contract_headers(tenant_admin_key) -> dict[str, str]:
    """Return the headers the contract fuzzing authenticates with."""
    return {"Authorization": f"Bearer {tenant_admin_key}"}


@pytest.fixture(scope="session")
def generated_client(tmp_path_factory) -> Iterator[ModuleType]:
    """Generate a Python client from the committed schema.yml and return its package."""
    root = tmp_path_factory.mktemp("generated-client")
    command = [
        str(OPENAPI_PYTHON_CLIENT),
        "generate",
        f"--path={SCHEMA_PATH}",
        f"--output-path={root / CLIENT_PACKAGE}",
        "--meta=none",
        f"--config={CLIENT_CONFIG}",
        "--fail-on-warning",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)  # noqa: S603 - fixed command
    if result.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}", pytrace=False)
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(CLIENT_PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [n for n in sys.modules if n.partition(".")[0] == CLIENT_PACKAGE]:
            del sys.modules[name]


@pytest.fixture
def make_generated_client(generated_client, live_server) -> Iterator[Callable]:
    """Return a function making a generated client for the live server.

    `make(raw_key)` sends `Authorization: Bearer <key>`, `make(raw_key, scheme="x-auth-token")`
    sends `X-Auth-Token: <key>`, `make()` sends no credentials. Every client raises on a
    status the schema does not document.
    """
    with ExitStack() as clients:

        def make(
            raw_key: str | None = None,
            *,
            scheme: Literal["bearer", "x-auth-token"] = "bearer",
        ):
            options = {"base_url": live_server.url, "raise_on_unexpected_status": True}
            if raw_key is None:
                client = generated_client.Client(**options)
            elif scheme == "x-auth-token":
                client = generated_client.AuthenticatedClient(
                    token=raw_key, prefix="", auth_header_name="X-Auth-Token", **options
                )
            else:
                client = generated_client.AuthenticatedClient(token=raw_key, **options)
            return clients.enter_context(client)

        yield make


@dataclass(frozen=True)
class SeededJobs:
    """Jobs of every family in `tenant` (acme), the path values that reach them, a login.

    `username` (password `PASSWORD`) is an `admin` of acme; `lti_key` is that user's key
    scoped to Canvas' LTI progress scope and `PROGRESS:READ`.
    """

    progress_id: int
    finished_progress_id: int
    course_id: int
    username: str
    lti_key: str
    async_status_id: int
    project_id: str
    instance_id: str
    asset_job_id: str
    archive_id: str
    operation_id: int
    done_operation_id: int


@pytest.fixture
def seeded_jobs(tenant, make_member, make_token) -> SeededJobs:
    """Create one pending and one finished job per family in `tenant`, and an export package."""
    running = make_progress(tenant, Progress.State.RUNNING, completion=40.0, course_id=7)
    finished = make_progress(tenant, Progress.State.COMPLETED, results={"id": 1})
    lti_user = make_member(tenant, "admin")
    lti_key = make_token(lti_user, tenant, scopes=[LTI_PROGRESS_SHOW_SCOPE, PROGRESS_READ])
    pending = async_status_create(tenant=tenant, message="DNSSEC refresh started")
    done = async_status_create(tenant=tenant, message="Queue updates started")
    async_status_finish(done, succeeded=True, message="Queue updates done")
    instance = InstanceFactory(tenant=tenant, instance_id="roma-acme-1")
    failed = make_job(instance, AssetJob.State.FAILED)
    export = make_export_with_package(instance)
    operation = make_operation(tenant, target="datasets/sales")
    done_operation = make_operation(tenant, Operation.State.SUCCEEDED)
    return SeededJobs(
        progress_id=running.pk,
        finished_progress_id=finished.pk,
        course_id=7,
        username=lti_user.username,
        lti_key=lti_key,
        async_status_id=pending.pk,
        project_id=tenant.project_id,
        instance_id=instance.instance_id,
        asset_job_id=failed.pk,
        archive_id=export.archive_id,
        operation_id=operation.pk,
        done_operation_id=done_operation.pk,
    )
