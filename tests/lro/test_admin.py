"""The operation admin: the resource name, payloads, filters and search (the kit does the rest)."""

from http import HTTPStatus

import pytest

from lro.models import Operation

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/lro/operation/"


@pytest.fixture
def operator(client, tenant, make_member):
    client.force_login(make_member(tenant, "operations", is_staff=True))
    return client


def test_the_detail_shows_the_name_metadata_response_and_error(operator, tenant, make_op):
    done = make_op(tenant, Operation.State.SUCCEEDED, target="datasets/sales")
    failed = make_op(tenant, Operation.State.FAILED)

    page = operator.get(f"{CHANGELIST}{done.pk}/change/").text
    failed_page = operator.get(f"{CHANGELIST}{failed.pk}/change/").text

    assert done.name in page
    assert "datasets/sales" in page
    assert "&quot;rows&quot;: 3" in page
    assert "Lost a race." in failed_page


def test_the_list_filters_by_state_and_searches_error_messages(operator, tenant, make_op):
    running = make_op(tenant)
    failed = make_op(tenant, Operation.State.FAILED)

    by_state = operator.get(CHANGELIST, {"state__exact": "RUNNING"})
    by_search = operator.get(CHANGELIST, {"q": "race"})

    assert list(by_state.context["cl"].result_list) == [running]
    assert list(by_search.context["cl"].result_list) == [failed]


def test_a_nul_in_the_query_string_is_a_400(operator):
    assert operator.get(CHANGELIST, {"q": "a\x00b"}).status_code == HTTPStatus.BAD_REQUEST


def test_another_tenants_operation_is_a_404_in_the_admin(operator, theirs):
    assert operator.get(f"{CHANGELIST}{theirs.pk}/change/").status_code == HTTPStatus.NOT_FOUND
