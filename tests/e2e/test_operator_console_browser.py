"""The operator console in a real browser, for every registered family: the list at 1280 px,
a failed job's timeline and traceback reached from the dashboard, running it again, and the
dashboard and lists refreshing in place.

The server's clock is stopped (as in test_admin_browser.py): each family's test runs at
another time of day, so an assertion matching free text that times or percentages contain
would fail somewhere. Assertions hold on links, ids and data attributes.
"""

import re
from datetime import UTC, datetime, time

import pytest
import time_machine
from playwright.sync_api import Page, expect

from jobs.models import JobEvent, TrackedRun
from jobs.registry import families
from jobs.tasks import enqueue_tracked
from tests.e2e.browser import external_requests, save_screenshot
from tests.jobs.drivers import drivers
from tests.jobs.tasks.sample_tasks import FAILING

pytestmark = [pytest.mark.e2e, pytest.mark.long]

PASSWORD = "correct horse battery"
CLOCK_TIMES = [time(10, 30), time(22, 30), time(23, 45)]
IMMEDIATE_BACKEND = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
# A refresh is due after a second; a check waits for a few.
REFRESH_SECONDS = 1
WAIT_MS = 8_000
Kind = JobEvent.Kind


def stopped_clock(when: time):
    today = datetime.now(UTC).date()
    return time_machine.travel(datetime.combine(today, when, tzinfo=UTC), tick=False)


@pytest.fixture(autouse=True)
def live_settings(settings):
    """Run tracked tasks inline (the server runs them too) and refresh every second."""
    settings.TASKS = IMMEDIATE_BACKEND
    settings.JOBDESK_ADMIN_REFRESH_SECONDS = REFRESH_SECONDS


@pytest.fixture
def operator(tenant, make_member):
    """A staff member who may read, cancel and run again every family's jobs in `tenant`."""
    permissions = [
        permission
        for family in families
        for permission in (
            family.read_permission,
            family.cancel_permission,
            family.write_permission,
        )
    ]
    return make_member(
        tenant, "console", permissions=sorted(set(permissions)), is_staff=True, username="olivia"
    )


def log_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_contain_text(username)


def fail_tracked_job(family, tenant, note: str):
    """Run the family's failing sample task as a tracked job of `tenant`; return the job."""
    job_id = enqueue_tracked(
        FAILING[family.name], note, tenant=tenant, job=family.tracked_fields(tenant)
    )
    return family.family.load(job_id)


def row_of(page: Page, href: str):
    return page.locator("#result_list tbody tr").filter(has=page.locator(f'th a[href="{href}"]'))


def fits_the_window(page: Page) -> bool:
    return page.evaluate(
        "() => { const r = document.querySelector('#changelist .results');"
        " return r.scrollWidth <= r.clientWidth; }"
    )


@pytest.mark.parametrize(
    ("family", "when"),
    [(driver, CLOCK_TIMES[i % len(CLOCK_TIMES)]) for i, driver in enumerate(drivers())],
    ids=lambda value: value.name if hasattr(value, "name") else value.strftime("%H%M"),
)
def test_operator_reads_why_a_job_failed_from_the_dashboard_and_runs_it_again(
    live_server, page, page_requests, tenant, other_tenant, operator, family, when
):
    with stopped_clock(when):
        failed = fail_tracked_job(family, tenant, note="row 7 of the import")
        pending = family.make(tenant)
        theirs = fail_tracked_job(family, other_tenant, note="not yours")
        base = live_server.url

        # The dashboard: the latest failure of the family links to its page (click one).
        log_in(page, base, "olivia")
        panel = page.locator(f'[data-jd-family="{family.name}"]')
        failure = panel.locator(f'[data-jd-table="{family.name}:failures"] a').first
        expect(failure).to_have_attribute("href", family.url("change", failed))
        save_screenshot(page, f"console-{family.name}-dashboard")
        failure.click()

        # Why it failed, and the timeline, on the job's page.
        expect(page).to_have_url(re.compile(re.escape(family.url("change", failed)) + "$"))
        expect(page.locator("#jobdesk-failure .jd-exception-type")).to_have_text(
            "ConnectionRefusedError"
        )
        expect(page.locator("#jobdesk-traceback")).to_contain_text("Traceback")
        expect(page.locator("#jobdesk-traceback")).to_contain_text("row 7 of the import")
        kinds = page.locator("#jobdesk-timeline tr[data-kind]")
        expected = [Kind.CREATED, Kind.STARTED, Kind.FAILED]
        if family.family.progress_field:
            expected.insert(2, Kind.PROGRESS)
        expect(kinds).to_have_count(len(expected))
        assert [row.get_attribute("data-kind") for row in kinds.all()] == expected
        expect(page.locator("h2", has_text="Timeline")).to_be_visible()
        save_screenshot(page, f"console-{family.name}-traceback")

        # Run again, through the confirmation; the new job and the old one link each other.
        page.locator(".jobdesk-rerun-link").click()
        expect(page.locator(".jobdesk-will-rerun a")).to_have_attribute(
            "href", family.url("change", failed)
        )
        save_screenshot(page, f"console-{family.name}-rerun-confirmation")
        page.locator("input[type=submit][value^='Yes']").click()
        new_id = (
            TrackedRun.objects.across_tenants().of_job(family.name, failed.pk).get().rerun.job_id
        )
        new = family.family.load(new_id)
        expect(page).to_have_url(re.compile(re.escape(family.url("change", new)) + "$"))
        expect(page.locator("#jobdesk-rerun-of")).to_have_attribute(
            "href", family.url("change", failed)
        )
        page.goto(base + family.url("change", failed))
        expect(page.locator("#jobdesk-rerun")).to_have_attribute("href", family.url("change", new))
        expect(page.locator(".jobdesk-rerun-link")).to_have_count(0)

        # The list at 1280 px: every column visible, and it refreshes the pending job's row.
        page.goto(base + family.url("changelist"))
        hrefs = {family.url("change", job) for job in (failed, new, pending)}
        links = page.locator("#result_list tbody th a")
        expect(links).to_have_count(len(hrefs))
        assert {link.get_attribute("href") for link in links.all()} == hrefs
        assert fits_the_window(page)
        expect(page.locator("#jobdesk-list-refresh")).to_be_visible()
        save_screenshot(page, f"console-{family.name}-list")
        page.evaluate("window.jdNotReloaded = true")
        family.family.start(str(pending.pk))
        family.family.complete(str(pending.pk), results=None)
        badge = row_of(page, family.url("change", pending)).locator(".jd-badge")
        expect(badge).to_have_class(re.compile(r"\bjd-badge-succeeded\b"), timeout=WAIT_MS)
        assert page.evaluate("window.jdNotReloaded") is True
        expect(page.locator("#jobdesk-list-changed")).to_be_hidden()

        # Another tenant's job: a plain 404 on its page and on running it again.
        for view in ["change", "rerun"]:
            assert page.goto(base + family.url(view, theirs)).status == 404, view
        assert family.state_of(theirs) == family.failed
        assert not hasattr(
            TrackedRun.objects.across_tenants().of_job(family.name, theirs.pk).get(), "rerun"
        )
        assert external_requests(page_requests) == []


def test_the_dashboard_refreshes_its_counts_chart_and_failures_without_a_reload(
    live_server, page, page_requests, tenant, operator
):
    # A quarter to midnight: the chart's last hour is the day's last one.
    when = CLOCK_TIMES[-1]
    with stopped_clock(when):
        pending = {family.name: family.make(tenant) for family in drivers()}
        log_in(page, live_server.url, "olivia")
        dashboard = page.locator("#jobdesk-dashboard")
        expect(dashboard).to_be_visible()
        page.evaluate("window.jdNotReloaded = true")

        failed = {}
        for family in drivers():
            job = pending[family.name]
            family.family.start(str(job.pk))
            family.family.complete(str(job.pk), results=None)
            failed[family.name] = fail_tracked_job(family, tenant, note="live")

        for family in drivers():
            cell = f"{family.name}:{tenant.pk}"
            expect(dashboard.locator(f'[data-jd-cell="{cell}:{family.succeeded}"]')).to_have_text(
                "1", timeout=WAIT_MS
            )
            expect(dashboard.locator(f'[data-jd-cell="{cell}:{family.running}"]')).to_have_text("0")
            expect(dashboard.locator(f'[data-jd-cell="{cell}:{family.failed}"]')).to_have_text("1")
            newest = dashboard.locator(f'[data-jd-table="{family.name}:failures"] a').first
            expect(newest).to_have_attribute("href", family.url("change", failed[family.name]))
            bars = dashboard.locator(f'svg[data-jd-chart="{family.name}"] rect.jd-bar-succeeded')
            assert float(bars.last.get_attribute("height")) > 0
        assert page.evaluate("window.jdNotReloaded") is True
        assert int(dashboard.get_attribute("data-refreshes")) >= 1
        save_screenshot(page, f"console-dashboard-live-{when:%H%M}")
        assert external_requests(page_requests) == []
