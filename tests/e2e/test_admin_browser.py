"""Operators use the admin in a real browser: log in, filter, cancel with confirmation, history.

Every test runs at three times of day: the change list shows creation times and percentages,
so an assertion matching free text could pass or fail by the clock alone.
"""

import re
from datetime import UTC, datetime, time

import pytest
import time_machine
from playwright.sync_api import Locator, Page, expect

from tests.e2e.browser import external_requests, save_screenshot
from tests.jobs.drivers import driver, operate_permissions, read_permissions

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"
PROGRESS = driver("progress")
# 10:30 and 22:30 show "10" in every row's time; 23:45 shows neither a 1 nor a 0.
CLOCK_TIMES = [time(10, 30), time(22, 30), time(23, 45)]


@pytest.fixture(autouse=True, params=CLOCK_TIMES, ids=lambda when: when.strftime("%H%M"))
def clock(request):
    """Stop the server's clock at `request.param` today (UTC), so cookies stay valid."""
    when = datetime.combine(datetime.now(UTC).date(), request.param, tzinfo=UTC)
    with time_machine.travel(when, tick=False):
        yield when


def change_links(page: Page) -> Locator:
    """Return the links of the change list's rows (each row links its job's change page)."""
    return page.locator("#result_list tbody tr th a")


def log_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_contain_text(username)


@pytest.fixture
def jobs(tenant, other_tenant):
    """Jobs in each state for `tenant`, and a running job of `other_tenant`."""
    return {
        "running": PROGRESS.insert(tenant),
        "queued": PROGRESS.insert(tenant, "queued"),
        "completed": PROGRESS.insert(tenant, PROGRESS.succeeded),
        "failed": PROGRESS.insert(tenant, PROGRESS.failed),
        "theirs": PROGRESS.insert(other_tenant),
    }


def test_operator_filters_to_running_jobs_and_cancels_one_through_the_confirmation(
    live_server, page, page_requests, tenant, make_member, jobs
):
    make_member(
        tenant, "operator", permissions=operate_permissions(), is_staff=True, username="olivia"
    )
    job = jobs["running"]

    log_in(page, live_server.url, "olivia")
    expect(page.locator("#jobdesk-dashboard")).to_be_visible()
    save_screenshot(page, "admin-dashboard")
    page.goto(live_server.url + PROGRESS.url("changelist"))
    page.locator("#changelist-filter").get_by_role("link", name="Running", exact=True).click()
    expect(page).to_have_url(re.compile(r"workflow_state__exact=running"))
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    save_screenshot(page, "admin-change-list")
    rows.first.locator("th a").click()
    expect(page.locator(".jd-badge")).to_have_text("Running")
    page.get_by_role("link", name="Cancel this job").click()
    expect(page.locator(".jobdesk-will-cancel")).to_contain_text(str(job))
    page.locator("input[type=submit][value^='Yes']").click()

    expect(page).to_have_url(re.compile(rf"/admin/progress/progress/{job.pk}/change/$"))
    expect(page.locator(".messagelist")).to_contain_text("Cancelled 1 job(s).")
    # Failed on the wire, as Canvas says it; a cancellation to the operator.
    expect(page.locator(".jd-badge")).to_have_text("Cancelled")
    expect(page.locator(".jd-badge")).to_have_attribute("title", "state: Failed (cancelled)")
    expect(page.locator("#jobdesk-timeline tr[data-kind=cancelled]")).to_have_count(1)
    page.get_by_role("link", name="History").click()
    history = page.locator("#change-history")
    expect(history).to_contain_text("olivia")
    expect(history).to_contain_text("Cancelled.")
    assert PROGRESS.state_of(job) == PROGRESS.failed
    assert PROGRESS.state_of(jobs["theirs"]) == PROGRESS.running
    assert external_requests(page_requests) == []


def test_operator_cannot_reach_another_tenants_job_by_url(
    live_server, page, page_requests, tenant, make_member, jobs
):
    make_member(
        tenant, "operator", permissions=operate_permissions(), is_staff=True, username="olivia"
    )
    theirs = jobs["theirs"]
    log_in(page, live_server.url, "olivia")

    for view in ["change", "cancel", "history"]:
        response = page.goto(live_server.url + PROGRESS.url(view, theirs))
        assert response.status == 404, view

    page.goto(live_server.url + PROGRESS.url("changelist"))
    ours = [job for name, job in jobs.items() if name != "theirs"]
    expect(change_links(page)).to_have_count(len(ours))
    hrefs = [link.get_attribute("href") for link in change_links(page).all()]
    assert sorted(hrefs) == sorted(PROGRESS.url("change", job) for job in ours)
    their_link = page.locator(f'#result_list a[href="{PROGRESS.url("change", theirs)}"]')
    expect(their_link).to_have_count(0)
    assert PROGRESS.state_of(theirs) == PROGRESS.running
    assert external_requests(page_requests) == []


def test_read_only_member_sees_no_cancel_action_nor_button(
    live_server, page, page_requests, tenant, make_member, jobs
):
    make_member(tenant, "reader", permissions=read_permissions(), is_staff=True, username="rita")
    log_in(page, live_server.url, "rita")

    page.goto(live_server.url + PROGRESS.url("changelist"))
    expect(page.locator("#result_list tbody tr")).to_have_count(4)
    expect(page.locator("select[name=action]")).to_have_count(0)
    page.goto(live_server.url + PROGRESS.url("change", jobs["running"]))
    expect(page.locator(".jd-badge")).to_have_text("Running")
    expect(page.get_by_role("link", name="Cancel this job")).to_have_count(0)
    assert external_requests(page_requests) == []


def test_pending_jobs_page_reloads_itself_until_it_finishes(
    live_server, page, tenant, make_member, jobs
):
    make_member(tenant, "reader", permissions=read_permissions(), is_staff=True, username="rita")
    log_in(page, live_server.url, "rita")

    page.goto(live_server.url + PROGRESS.url("change", jobs["running"]))
    refresh = page.locator('meta[http-equiv="refresh"]')
    expect(refresh).to_have_attribute("content", "5")
    page.goto(live_server.url + PROGRESS.url("change", jobs["completed"]))
    expect(refresh).to_have_count(0)
