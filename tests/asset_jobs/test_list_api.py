from datetime import timedelta
from http import HTTPStatus

import pytest
from django.db import connection
from django.utils import timezone

from asset_jobs.models import AssetJob
from asset_jobs.services import asset_job_fail
from tests.asset_jobs.factories import (
    REASON,
    InstanceFactory,
    make_export_with_package,
    make_job,
    reload,
)
from tests.asset_jobs.helpers import REQUEST_ID, assert_roma_error, list_url

pytestmark = pytest.mark.django_db

State = AssetJob.State


def ids(response) -> list[str]:
    return [job["id"] for job in response.json()["jobs"]]


def stagger(jobs: list[AssetJob]) -> list[AssetJob]:
    """Give `jobs` begin times a minute apart, in list order, so "newest first" is certain."""
    start = timezone.now() - timedelta(hours=1)
    for minutes, job in enumerate(jobs):
        AssetJob.objects.across_tenants().filter(pk=job.pk).update(
            begin_time=start + timedelta(minutes=minutes)
        )
    return jobs


def test_list_shows_the_instances_jobs_newest_first_with_total_and_size(
    api_client, instance, x_auth
):
    jobs = stagger([make_job(instance) for _ in range(3)])
    make_job(InstanceFactory(tenant=instance.tenant, instance_id="sibling"))

    response = api_client.get(list_url(instance), **x_auth(instance.tenant))

    assert response.status_code == HTTPStatus.OK
    assert REQUEST_ID.fullmatch(response["X-Request-Id"])
    body = response.json()
    assert list(body) == ["total", "size", "jobs"]
    assert (body["total"], body["size"]) == (3, 3)
    assert ids(response) == [job.pk for job in reversed(jobs)]
    assert list(body["jobs"][0]) == [
        "id",
        "type",
        "status",
        "reasons",
        "progress_percent",
        "begin_time",
        "end_time",
    ]


def test_list_items_have_the_single_read_shape(api_client, instance, x_auth):
    export = make_export_with_package(instance)
    failed = make_job(instance, State.FAILED)

    jobs = {
        job["id"]: job
        for job in api_client.get(list_url(instance), **x_auth(instance.tenant)).json()["jobs"]
    }

    assert jobs[export.pk]["archive_id"] == reload(export).archive_id
    assert jobs[failed.pk]["reasons"] == [REASON]
    assert "archive_id" not in jobs[failed.pk]


def test_list_pages_with_offset_and_limit(api_client, instance, x_auth):
    jobs = stagger([make_job(instance) for _ in range(5)])
    newest_first = [job.pk for job in reversed(jobs)]
    headers = x_auth(instance.tenant)

    response = api_client.get(list_url(instance), {"offset": 1, "limit": 2}, **headers)

    assert (response.json()["total"], response.json()["size"]) == (5, 2)
    assert ids(response) == newest_first[1:3]
    beyond = api_client.get(list_url(instance), {"offset": 10}, **headers).json()
    assert (beyond["total"], beyond["size"], beyond["jobs"]) == (5, 0, [])


def test_list_defaults_to_10_jobs_and_allows_100(api_client, instance, x_auth):
    for _ in range(12):
        make_job(instance)
    headers = x_auth(instance.tenant)

    assert api_client.get(list_url(instance), **headers).json()["size"] == 10
    assert api_client.get(list_url(instance), {"limit": 100}, **headers).json()["size"] == 12


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("Running", "running"),
        ("RUNNING", "running"),
        ("Failed", "failed"),
        ("FAILED", "failed"),
        ("Success", "ready"),
        ("SUCCEEDED", "ready"),
        ("Finished", "done"),
    ],
)
def test_list_filters_by_status_in_either_spelling(api_client, instance, x_auth, status, expected):
    made = {
        "running": make_job(instance),
        "failed": make_job(instance, State.FAILED),
        "ready": make_export_with_package(instance),
        "done": make_job(instance, State.FINISHED),
    }

    response = api_client.get(list_url(instance), {"status": status}, **x_auth(instance.tenant))

    assert ids(response) == [made[expected].pk]
    assert response.json()["total"] == 1


def test_list_filters_by_type(api_client, instance, x_auth):
    make_job(instance, type=AssetJob.Type.IMPORT)
    delete = make_job(instance, type=AssetJob.Type.DELETE)

    response = api_client.get(
        list_url(instance), {"type": "deleteAsset"}, **x_auth(instance.tenant)
    )

    assert ids(response) == [delete.pk]


@pytest.mark.parametrize(
    "params",
    [
        {"status": "Bogus"},
        {"type": "exportAll"},
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "-1"},
        {"limit": "ten"},
        {"limit": "9" * 5000},
        {"offset": "-1"},
        {"offset": "1.5"},
        {"offset": "²"},
    ],
)
def test_bad_list_parameters_are_400_roma_13000(api_client, instance, x_auth, params):
    make_job(instance)

    response = api_client.get(list_url(instance), params, **x_auth(instance.tenant))

    assert_roma_error(response, HTTPStatus.BAD_REQUEST, "ROMA.13000", "Invalid parameters.")


def test_list_of_an_unknown_instance_is_404(api_client, instance, x_auth):
    response = api_client.get(list_url(instance, instance_id="nope"), **x_auth(instance.tenant))

    assert_roma_error(response, HTTPStatus.NOT_FOUND, "ROMA.00014002")


def test_empty_instance_lists_nothing(api_client, instance, x_auth):
    body = api_client.get(list_url(instance), **x_auth(instance.tenant)).json()

    assert body == {"total": 0, "size": 0, "jobs": []}


def test_other_tenants_jobs_never_appear_and_stay_unchanged(
    api_client, instance, other_instance, x_auth
):
    own = make_job(instance)
    other = make_job(other_instance, progress=0.2)
    headers = x_auth(instance.tenant)

    own_list = api_client.get(list_url(instance), **headers)
    other_list = api_client.get(list_url(other_instance), **headers)
    their_instance_in_own_project = api_client.get(
        list_url(instance, instance_id=other_instance.instance_id), **headers
    )

    assert ids(own_list) == [own.pk]
    assert_roma_error(other_list, HTTPStatus.FORBIDDEN, "ROMA.1006")
    assert_roma_error(their_instance_in_own_project, HTTPStatus.NOT_FOUND, "ROMA.00014002")
    assert reload(other).progress_percent == 0.2


def test_unauthenticated_list_is_401(api_client, instance):
    assert_roma_error(api_client.get(list_url(instance)), HTTPStatus.UNAUTHORIZED, "ROMA.1000")


@pytest.mark.parametrize("count", [1, 30])
def test_list_costs_the_same_queries_whatever_the_page_size(
    api_client, instance, x_auth, django_assert_num_queries, count
):
    for _ in range(count):
        asset_job_fail(make_job(instance), reasons=[REASON, REASON])
    headers, url = x_auth(instance.tenant), list_url(instance)

    # token, instance, count, page, reasons
    with django_assert_num_queries(5):
        response = api_client.get(url, {"limit": 100}, **headers)

    assert response.json()["size"] == count


@pytest.mark.postgres
def test_the_filtered_list_query_is_served_by_an_index(instance):
    queryset = AssetJob.objects.for_tenant(instance.tenant).filter(
        instance=instance, status=State.RUNNING
    )
    # With sequential scans priced out, a query no index serves still shows "Seq Scan".
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        plan = queryset.explain()
        cursor.execute("RESET enable_seqscan")

    assert "Seq Scan" not in plan
    assert "Index" in plan
