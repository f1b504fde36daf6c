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


def test_detail_shows_reasons_inline(staff, instance):
    job = make_job(instance, State.FAILED)

    response = staff(instance.tenant, "read-only").get(change_url(job))

    assert response.status_code == HTTPStatus.OK
    assert "ROMA.00000101" in response.text
    assert "some error details here" in response.text


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
