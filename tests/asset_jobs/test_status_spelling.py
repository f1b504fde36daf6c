"""Each instance spells its jobs' status as ROMA's 2022 reference (the default) or as its
current reference and SDKs do; the choice shows on the very next poll, ETag included."""

import json
from http import HTTPStatus

import pytest
from django.urls import reverse

from asset_jobs.models import AssetJob, Instance
from asset_jobs.services import instance_set_status_spelling
from tests.asset_jobs.factories import make_export_with_package, make_job
from tests.asset_jobs.helpers import assert_roma_error, job_url, list_url

pytestmark = pytest.mark.django_db

State = AssetJob.State
CLASSIC, CURRENT = Instance.StatusSpelling.CLASSIC, Instance.StatusSpelling.CURRENT


def settings_url(instance, *, project_id=None) -> str:
    return list_url(instance, project_id=project_id).removesuffix("/jobs") + "/settings"


@pytest.fixture
def reader(x_auth, tenant):
    return x_auth(tenant, "read-only")


@pytest.fixture
def writer(x_auth, tenant):
    return x_auth(tenant, "admin")


def status_of(api_client, job, headers) -> str:
    return api_client.get(job_url(job), **headers).json()["status"]


def test_a_new_instance_spells_statuses_as_romas_2022_reference(instance):
    assert instance.status_spelling == CLASSIC


@pytest.mark.parametrize(
    ("state", "classic", "current"),
    [
        (State.RUNNING, "Running", "RUNNING"),
        (State.SUCCESS, "Success", "SUCCEEDED"),
        (State.FAILED, "Failed", "FAILED"),
        (State.FINISHED, "Finished", "SUCCEEDED"),
    ],
)
def test_each_status_reads_in_the_instances_spelling(
    api_client, instance, reader, state, classic, current
):
    job = make_job(instance, state)
    before = status_of(api_client, job, reader)

    instance_set_status_spelling(instance=instance, status_spelling=CURRENT)

    assert (before, status_of(api_client, job, reader)) == (classic, current)


def test_a_downloaded_export_reads_succeeded_without_archive_id_in_the_current_spelling(
    api_client, instance, reader
):
    instance_set_status_spelling(instance=instance, status_spelling=CURRENT)
    ready = make_export_with_package(instance)
    done = make_job(instance, State.FINISHED)

    ready_body = api_client.get(job_url(ready), **reader).json()
    done_body = api_client.get(job_url(done), **reader).json()

    assert (ready_body["status"], ready_body["archive_id"]) == ("SUCCEEDED", ready.archive_id)
    assert done_body["status"] == "SUCCEEDED"
    assert "archive_id" not in done_body


def test_changing_the_spelling_replaces_the_cached_body_and_its_etag(
    api_client, instance, reader, django_assert_num_queries
):
    job = make_job(instance)
    first = api_client.get(job_url(job), **reader)
    with django_assert_num_queries(0):  # cached: served by the fast path
        api_client.get(job_url(job), **reader)

    instance_set_status_spelling(instance=instance, status_spelling=CURRENT)
    after = api_client.get(job_url(job), HTTP_IF_NONE_MATCH=first["ETag"], **reader)

    assert after.status_code == HTTPStatus.OK
    assert after.json()["status"] == "RUNNING"
    assert after["ETag"] != first["ETag"]
    with django_assert_num_queries(0):  # the new body is cached in its turn
        assert api_client.get(job_url(job), **reader).json()["status"] == "RUNNING"


def test_the_spelling_of_one_instance_leaves_another_instances_jobs_alone(
    api_client, instance, tenant, reader
):
    from tests.asset_jobs.factories import InstanceFactory

    mine, neighbour = make_job(instance), make_job(InstanceFactory(tenant=tenant))

    instance_set_status_spelling(instance=instance, status_spelling=CURRENT)

    assert status_of(api_client, mine, reader) == "RUNNING"
    assert status_of(api_client, neighbour, reader) == "Running"


def test_the_list_shows_the_spelling_and_filters_in_either(api_client, instance, reader):
    make_job(instance, State.FAILED)
    ready = make_export_with_package(instance)
    done = make_job(instance, State.FINISHED)
    instance_set_status_spelling(instance=instance, status_spelling=CURRENT)

    listed = api_client.get(list_url(instance), **reader).json()["jobs"]
    succeeded = api_client.get(list_url(instance), {"status": "SUCCEEDED"}, **reader).json()
    finished = api_client.get(list_url(instance), {"status": "Finished"}, **reader).json()

    assert sorted(job["status"] for job in listed) == ["FAILED", "SUCCEEDED", "SUCCEEDED"]
    assert {job["id"] for job in succeeded["jobs"]} == {ready.pk, done.pk}
    assert [job["id"] for job in finished["jobs"]] == [done.pk]


def test_a_producer_reports_success_in_the_current_spelling(api_client, instance, writer):
    job = make_job(instance, type=AssetJob.Type.DELETE)
    instance_set_status_spelling(instance=instance, status_spelling=CURRENT)

    response = api_client.put(
        job_url(job), json.dumps({"status": "SUCCEEDED"}), content_type="application/json", **writer
    )

    assert response.status_code == HTTPStatus.OK
    assert response.json()["status"] == "SUCCEEDED"
    assert AssetJob.objects.for_tenant(instance.tenant).get().status == State.SUCCESS


def test_an_unknown_spelling_is_refused_by_the_service(instance):
    with pytest.raises(Exception, match="Unknown spelling 'shouting'"):
        instance_set_status_spelling(instance=instance, status_spelling="shouting")
    instance.refresh_from_db()
    assert instance.status_spelling == CLASSIC


# The settings route -----------------------------------------------------------------------------


def put_settings(api_client, instance, headers, body, **options):
    return api_client.put(
        settings_url(instance, **options),
        json.dumps(body),
        content_type="application/json",
        **headers,
    )


def test_the_settings_route_shows_and_changes_the_spelling(api_client, instance, writer):
    shown = api_client.get(settings_url(instance), **writer)
    changed = put_settings(api_client, instance, writer, {"status_spelling": "current"})

    assert shown.json() == {"status_spelling": "classic"}
    assert changed.status_code == HTTPStatus.OK
    assert changed.json() == {"status_spelling": "current"}
    instance.refresh_from_db()
    assert instance.status_spelling == CURRENT


def test_a_reader_may_see_but_not_change_the_spelling(api_client, instance, reader):
    assert api_client.get(settings_url(instance), **reader).status_code == HTTPStatus.OK

    response = put_settings(api_client, instance, reader, {"status_spelling": "current"})

    assert_roma_error(response, HTTPStatus.FORBIDDEN, "ROMA.1006")
    instance.refresh_from_db()
    assert instance.status_spelling == CLASSIC


@pytest.mark.parametrize(
    "body",
    [
        {"status_spelling": "shouting"},
        {"status_spelling": 1},
        {"status_spelling": None},
        {"status_spelling": "current", "more": 1},
        {},
        ["current"],
    ],
)
def test_bad_settings_are_a_400_and_change_nothing(api_client, instance, writer, body):
    response = put_settings(api_client, instance, writer, body)

    assert_roma_error(response, HTTPStatus.BAD_REQUEST, "ROMA.13000")
    instance.refresh_from_db()
    assert instance.status_spelling == CLASSIC


def test_another_tenants_instance_settings_are_403_and_unchanged(
    api_client, writer, other_instance
):
    read = api_client.get(
        settings_url(other_instance, project_id=other_instance.tenant.project_id), **writer
    )
    changed = put_settings(
        api_client,
        other_instance,
        writer,
        {"status_spelling": "current"},
        project_id=other_instance.tenant.project_id,
    )

    assert_roma_error(read, HTTPStatus.FORBIDDEN, "ROMA.1006")
    assert_roma_error(changed, HTTPStatus.FORBIDDEN, "ROMA.1006")
    other_instance.refresh_from_db()
    assert other_instance.status_spelling == CLASSIC


def test_an_unknown_instance_has_no_settings(api_client, instance, writer, tenant):
    url = f"/v2/{tenant.project_id}/instances/nowhere/assets/settings"

    assert_roma_error(api_client.get(url, **writer), HTTPStatus.NOT_FOUND, "ROMA.00014002")


# The admin -------------------------------------------------------------------------------------


@pytest.fixture
def staff(make_member, login):
    def make(tenant, role_name):
        return login(make_member(tenant, role_name, is_staff=True))

    return make


def test_a_tenant_admin_changes_the_spelling_in_the_admin(api_client, staff, instance, reader):
    job = make_job(instance)
    status_of(api_client, job, reader)  # cached
    client = staff(instance.tenant, "admin")
    url = reverse("admin:asset_jobs_instance_change", args=[instance.pk])

    response = client.post(url, {"status_spelling": "current"})

    assert response.status_code == HTTPStatus.FOUND
    instance.refresh_from_db()
    assert instance.status_spelling == CURRENT
    assert status_of(api_client, job, reader) == "RUNNING"


def test_an_operator_without_write_sees_the_instance_but_cannot_change_it(staff, instance):
    client = staff(instance.tenant, "operations")
    url = reverse("admin:asset_jobs_instance_change", args=[instance.pk])

    page = client.get(url)
    refused = client.post(url, {"status_spelling": "current"})

    assert page.status_code == HTTPStatus.OK
    assert refused.status_code == HTTPStatus.FORBIDDEN
    instance.refresh_from_db()
    assert instance.status_spelling == CLASSIC


def test_another_tenants_instance_is_404_in_the_admin(staff, instance, other_instance):
    client = staff(instance.tenant, "admin")
    url = reverse("admin:asset_jobs_instance_change", args=[other_instance.pk])

    assert client.post(url, {"status_spelling": "current"}).status_code == HTTPStatus.NOT_FOUND
    other_instance.refresh_from_db()
    assert other_instance.status_spelling == CLASSIC
