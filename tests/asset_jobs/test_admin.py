from http import HTTPStatus

import pytest
from django.contrib.admin.models import LogEntry
from django.core.files.storage import default_storage
from django.urls import reverse

from asset_jobs.models import AssetJob, AssetJobReason, Instance
from tests.asset_jobs.factories import make_export_with_package, make_job, make_zip, reload
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

State = AssetJob.State
CHANGELIST = "admin:asset_jobs_assetjob_changelist"


def change_url(job) -> str:
    return reverse("admin:asset_jobs_assetjob_change", args=[job.pk])


def cancel_url(job) -> str:
    return reverse("admin:asset_jobs_assetjob_cancel", args=[job.pk])


def download_url(job) -> str:
    return reverse("admin:asset_jobs_assetjob_download", args=[job.pk])


@pytest.fixture
def staff(make_member, login):
    """Return a function logging in a staff member of `tenant` with `role_name`."""

    def make(tenant, role_name="operations"):
        user = make_member(tenant, role_name, is_staff=True)
        return login(user)

    return make


def test_changelist_shows_only_jobs_of_the_staff_users_tenants(staff, instance, other_instance):
    own, other = make_job(instance), make_job(other_instance)
    client = staff(instance.tenant)

    response = client.get(reverse(CHANGELIST))

    assert response.status_code == HTTPStatus.OK
    assert own.pk in response.text
    assert other.pk not in response.text
    assert "<progress" in response.text


def test_changelist_filters_by_status_and_searches_by_instance(staff, instance):
    running, failed = make_job(instance), make_job(instance, State.FAILED)
    client = staff(instance.tenant)

    by_status = client.get(reverse(CHANGELIST), {"status__exact": "Failed"})
    by_instance = client.get(reverse(CHANGELIST), {"q": instance.instance_id})

    assert failed.pk in by_status.text
    assert running.pk not in by_status.text
    assert {running.pk, failed.pk} <= {
        pk for pk in (running.pk, failed.pk) if pk in by_instance.text
    }


def test_changelist_queries_do_not_grow_with_the_rows(
    staff, instance, django_assert_max_num_queries
):
    client = staff(instance.tenant)
    for _ in range(3):
        make_job(instance, State.FAILED)
    client.get(reverse(CHANGELIST))
    with django_assert_max_num_queries(12) as few:
        client.get(reverse(CHANGELIST))
    for _ in range(20):
        make_job(instance, State.FAILED)

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse(CHANGELIST))

    assert response.status_code == HTTPStatus.OK


def test_detail_shows_reasons_inline(staff, instance):
    job = make_job(instance, State.FAILED)

    response = staff(instance.tenant, "read-only").get(change_url(job))

    assert response.status_code == HTTPStatus.OK
    assert "ROMA.00000101" in response.text
    assert "some error details here" in response.text


def test_detail_of_another_tenants_job_is_404(staff, instance, other_instance):
    other = make_job(other_instance)

    response = staff(instance.tenant).get(change_url(other))

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert other.pk not in response.text
    assert reload(other).status == State.RUNNING


def test_cancel_button_cancels_a_running_job_and_logs_it(staff, instance):
    job = make_job(instance)
    client = staff(instance.tenant)

    page = client.get(change_url(job))
    confirmation = client.post(cancel_url(job))
    status_after_confirmation_page = reload(job).status
    response = client.post(cancel_url(job), {"post": "yes"})

    assert cancel_url(job) in page.text
    assert confirmation.status_code == HTTPStatus.OK
    assert [obj.pk for obj, _ in confirmation.context["cancellable"]] == [job.pk]
    assert status_after_confirmation_page == State.RUNNING
    assert response.status_code == HTTPStatus.FOUND
    assert reload(job).status == State.FAILED
    reason = AssetJobReason.objects.get(job=job)
    assert reason.error_msg.startswith("Cancelled by ")
    entry = LogEntry.objects.get(object_id=job.pk)
    assert entry.get_change_message() == "Cancelled."


def test_bulk_action_cancels_running_jobs_and_leaves_finished_ones(staff, instance):
    running, finished = make_job(instance), make_job(instance, State.SUCCESS)
    client = staff(instance.tenant)

    client.post(
        reverse(CHANGELIST),
        {"action": "cancel_selected", "_selected_action": [running.pk, finished.pk], "post": "yes"},
    )

    assert reload(running).status == State.FAILED
    assert reload(finished).status == State.SUCCESS
    assert list(LogEntry.objects.values_list("object_id", flat=True)) == [running.pk]


def test_bulk_action_cannot_reach_another_tenants_job(staff, instance, other_instance):
    other = make_job(other_instance)

    staff(instance.tenant).post(
        reverse(CHANGELIST),
        {"action": "cancel_selected", "_selected_action": [other.pk], "post": "yes"},
    )

    assert reload(other).status == State.RUNNING
    assert not LogEntry.objects.exists()


def test_read_only_member_gets_no_cancel_action_and_403_on_the_cancel_url(staff, instance):
    job = make_job(instance)
    client = staff(instance.tenant, "read-only")

    changelist = client.get(reverse(CHANGELIST))
    page = client.get(change_url(job))
    response = client.post(cancel_url(job), {"post": "yes"})

    assert "cancel_selected" not in changelist.text
    assert cancel_url(job) not in page.text
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert reload(job).status == State.RUNNING


def test_finished_job_has_no_cancel_button(staff, instance):
    job = make_job(instance, State.FAILED)

    page = staff(instance.tenant).get(change_url(job))

    assert cancel_url(job) not in page.text


def test_pending_package_is_downloaded_once_from_the_admin_with_a_warning(staff, instance):
    content = make_zip()
    job = make_export_with_package(instance, content)
    stored_name = job.archive.name
    client = staff(instance.tenant, "read-only")

    page = client.get(change_url(job))
    response = client.post(download_url(job))
    again = client.post(download_url(job))

    assert download_url(job) in page.text
    assert "only once" in page.text
    assert stored_name not in page.text
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "application/zip"
    assert b"".join(response.streaming_content) == content
    assert reload(job).status == State.FINISHED
    assert not default_storage.exists(stored_name)
    assert again.status_code == HTTPStatus.FOUND
    assert LogEntry.objects.get(object_id=job.pk).get_change_message() == (
        "Downloaded the asset package."
    )


def test_download_url_refuses_get_and_other_tenants(staff, instance, other_instance):
    own, other = make_export_with_package(instance), make_export_with_package(other_instance)
    client = staff(instance.tenant)

    assert client.get(download_url(own)).status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert client.post(download_url(other)).status_code == HTTPStatus.NOT_FOUND
    assert reload(own).is_downloadable
    assert reload(other).is_downloadable


def test_instances_are_scoped_and_read_only_for_members(staff, instance, other_instance):
    client = staff(instance.tenant)

    response = client.get(reverse("admin:asset_jobs_instance_changelist"))

    assert instance.instance_id in response.text
    assert other_instance.instance_id not in response.text
    assert client.get(reverse("admin:asset_jobs_instance_add")).status_code == HTTPStatus.FORBIDDEN


def test_superuser_adds_an_instance_through_the_service(login, tenant):
    client = login(UserFactory(is_staff=True, is_superuser=True))
    add = reverse("admin:asset_jobs_instance_add")

    created = client.post(add, {"tenant": tenant.pk, "instance_id": "new-1", "name": "New"})
    duplicate = client.post(add, {"tenant": tenant.pk, "instance_id": "new-1", "name": "Again"})
    malformed = client.post(add, {"tenant": tenant.pk, "instance_id": "../x", "name": "Bad"})

    assert created.status_code == HTTPStatus.FOUND
    assert duplicate.status_code == HTTPStatus.OK
    assert "already has an instance" in duplicate.text
    assert malformed.status_code == HTTPStatus.OK
    assert list(Instance.objects.for_tenant(tenant).values_list("instance_id", flat=True)) == [
        "new-1"
    ]


def test_tenant_admin_adds_instances_only_to_their_tenants(staff, tenant, other_tenant):
    client = staff(tenant, "admin")
    add = reverse("admin:asset_jobs_instance_add")

    form = client.get(add)
    refused = client.post(add, {"tenant": other_tenant.pk, "instance_id": "sneak", "name": "X"})

    assert form.status_code == HTTPStatus.OK
    assert other_tenant.name not in form.text
    assert refused.status_code == HTTPStatus.OK
    assert not Instance.objects.for_tenant(other_tenant).exists()
