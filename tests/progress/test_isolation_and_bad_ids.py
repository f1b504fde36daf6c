"""Another tenant's job does not exist; junk ids name nothing. Never a 500, nothing changed."""

from http import HTTPStatus

import pytest

from progress.models import Progress

pytestmark = pytest.mark.django_db

NOT_FOUND = {"errors": [{"message": "The specified resource does not exist."}]}
LTI_NOT_FOUND = {
    "errors": {"type": "not_found", "message": "The specified resource does not exist."}
}
BAD_IDS = [
    "abc",
    "-1",
    "0",
    "1.5",
    "9223372036854775808",
    "1" * 10_000,
    "%20",
    "1e3",
    "\uff10\uff11",
]


def request(api_client, endpoint: str, pk, headers: dict, course_id=42):
    if endpoint == "show":
        return api_client.get(f"/api/v1/progress/{pk}", **headers)
    if endpoint == "cancel":
        return api_client.post(
            f"/api/v1/progress/{pk}/cancel", {"message": "x"}, format="json", **headers
        )
    return api_client.get(f"/api/lti/courses/{course_id}/progress/{pk}", **headers)


@pytest.fixture
def headers_for(operator, lti_tool):
    def pick(endpoint: str) -> dict:
        return lti_tool if endpoint == "lti" else operator

    return pick


@pytest.mark.parametrize("endpoint", ["show", "cancel", "lti"])
def test_other_tenants_job_is_404_and_left_unchanged(
    api_client, job, other_job, headers_for, snapshot, endpoint
):
    before = snapshot(other_job)

    response = request(api_client, endpoint, other_job.pk, headers_for(endpoint))

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == (LTI_NOT_FOUND if endpoint == "lti" else NOT_FOUND)
    assert snapshot(other_job) == before
    assert request(api_client, endpoint, job.pk, headers_for(endpoint)).status_code == HTTPStatus.OK


@pytest.mark.parametrize("endpoint", ["show", "cancel"])
def test_member_of_both_tenants_reaches_each_only_where_the_role_allows(
    api_client, job, other_job, tenant, other_tenant, make_member, snapshot, endpoint
):
    from tenancy.services import membership_grant

    user = make_member(tenant, "operations")
    membership_grant(user=user, tenant=other_tenant, role_name="read-only")
    user.save()  # store the factory's password so the session stays valid
    api_client.force_login(user)
    before = snapshot(other_job)

    response = request(api_client, endpoint, other_job.pk, {})

    if endpoint == "show":
        assert response.status_code == HTTPStatus.OK
    else:  # a reader there, and not the creator: may see it, may not cancel it
        assert response.status_code == HTTPStatus.FORBIDDEN
        assert snapshot(other_job) == before


@pytest.mark.parametrize("endpoint", ["show", "cancel", "lti"])
@pytest.mark.parametrize("bad_id", BAD_IDS, ids=lambda value: value[:24])
def test_junk_ids_are_404_in_the_family_envelope(
    api_client, job, headers_for, snapshot, endpoint, bad_id
):
    before = snapshot(job)

    response = request(api_client, endpoint, bad_id, headers_for(endpoint))

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == (LTI_NOT_FOUND if endpoint == "lti" else NOT_FOUND)
    assert snapshot(job) == before


@pytest.mark.parametrize("bad_course", BAD_IDS, ids=lambda value: value[:24])
def test_junk_course_ids_on_the_lti_route_are_404(api_client, job, lti_tool, bad_course):
    response = request(api_client, "lti", job.pk, lti_tool, course_id=bad_course)

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == LTI_NOT_FOUND


def test_largest_bigint_id_is_a_plain_404(api_client, operator):
    response = request(api_client, "show", 2**63 - 1, operator)

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == NOT_FOUND


def test_other_tenants_job_is_absent_from_the_list(api_client, job, other_job, operator):
    response = api_client.get("/api/v1/progress", {"per_page": 100}, **operator)

    assert [item["id"] for item in response.json()] == [job.pk]
    assert Progress.objects.across_tenants().count() == 2


def test_superuser_session_sees_every_tenant(api_client, job, other_job):
    from tests.factories import UserFactory

    root = UserFactory(is_superuser=True, is_staff=True)
    root.save()
    api_client.force_login(root)

    response = api_client.get("/api/v1/progress")

    assert {item["id"] for item in response.json()} == {job.pk, other_job.pk}
