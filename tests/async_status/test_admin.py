"""The async status admin: scoped change list, read-only detail, cancel through the service."""

from http import HTTPStatus

import pytest
from django.contrib.admin.models import LogEntry

from async_status.family import ASYNC_STATUS_READ, ASYNC_STATUS_WRITE
from async_status.models import AsyncStatus
from tests.async_status.helpers import snapshot

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/async_status/asyncstatus/"


def change_url(job: AsyncStatus) -> str:
    return f"{CHANGELIST}{job.pk}/change/"


def cancel_url(job: AsyncStatus) -> str:
    return f"{CHANGELIST}{job.pk}/cancel/"


@pytest.fixture
def staff(client, make_member):
    """Return a function logging `client` in as a staff member of `tenant` with `role`."""

    def login(tenant, role="admin", **kwargs):
        user = make_member(tenant, role, is_staff=True, **kwargs)
        client.force_login(user)
        return user

    return login


def stored(job: AsyncStatus) -> AsyncStatus:
    return AsyncStatus.objects.across_tenants().get(pk=job.pk)


def test_change_list_filters_by_status_and_searches_messages(client, staff, tenant, make_job):
    pending, done = make_job(tenant), make_job(tenant, "SUCCEEDED")
    staff(tenant)

    by_status = client.get(CHANGELIST, {"status__exact": "SUCCEEDED"})
    by_search = client.get(CHANGELIST, {"q": "started"})
    by_tenant = client.get(CHANGELIST, {"tenant": str(tenant.pk)})

    assert list(by_status.context["cl"].result_list) == [done]
    assert list(by_search.context["cl"].result_list) == [pending]
    assert set(by_tenant.context["cl"].result_list) == {pending, done}


def test_cancel_button_cancels_a_pending_job_and_writes_history(client, staff, tenant, job):
    user = staff(tenant, "admin", username="alice")

    detail = client.get(change_url(job))
    confirmation = client.get(cancel_url(job))
    response = client.post(cancel_url(job), {"post": "yes"})

    assert detail.context["show_cancel"] is True
    assert b"Are you sure you want to cancel this async status?" in confirmation.content
    assert response.status_code == HTTPStatus.FOUND
    row = stored(job)
    assert row.status == "FAILED"
    assert row.end_time is not None
    assert row.message.startswith("Cancelled by alice at ")
    entry = LogEntry.objects.get(object_id=str(job.pk))
    assert (entry.user, entry.change_message) == (user, "Cancelled.")


@pytest.mark.parametrize(
    ("role", "permissions"),
    [("operations", None), ("custom-reader", [ASYNC_STATUS_READ])],
)
def test_members_without_the_write_permission_cannot_cancel(
    client, staff, tenant, job, role, permissions
):
    staff(tenant, role, permissions=permissions)
    before = snapshot(job)

    changelist = client.get(CHANGELIST)
    detail = client.get(change_url(job))
    response = client.post(cancel_url(job), {"post": "yes"})
    bulk = client.post(
        CHANGELIST, {"action": "cancel_selected", "_selected_action": [job.pk], "post": "yes"}
    )

    assert changelist.context["action_form"] is None
    assert detail.context["show_cancel"] is False
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert bulk.status_code in {HTTPStatus.OK, HTTPStatus.FOUND}
    assert snapshot(job) == before
    assert not LogEntry.objects.exists()


def test_a_custom_role_with_write_may_cancel(client, staff, tenant, job):
    staff(tenant, "canceller", permissions=[ASYNC_STATUS_READ, ASYNC_STATUS_WRITE])

    client.post(cancel_url(job), {"post": "yes"})

    assert stored(job).status == "FAILED"


def test_members_without_read_do_not_see_the_admin(client, staff, tenant, job):
    staff(tenant, "read-only")

    assert client.get(CHANGELIST).status_code == HTTPStatus.FORBIDDEN
    assert client.get(change_url(job)).status_code == HTTPStatus.FORBIDDEN


@pytest.mark.parametrize(
    "params",
    [{"q": "start\x00ed"}, {"status__exact": "\x00"}, {"tenant": "\x00"}, {"p": "\x00"}],
)
def test_nul_in_change_list_parameters_is_400_not_500(client, staff, tenant, job, params):
    staff(tenant)

    response = client.get(CHANGELIST, params)

    assert response.status_code == HTTPStatus.BAD_REQUEST


@pytest.mark.parametrize("params", [{"tenant": "x"}, {"status__exact": "RUNNING"}, {"p": "x"}])
def test_junk_change_list_parameters_never_500(client, staff, tenant, job, params):
    staff(tenant)

    response = client.get(CHANGELIST, params)

    assert response.status_code < HTTPStatus.INTERNAL_SERVER_ERROR
