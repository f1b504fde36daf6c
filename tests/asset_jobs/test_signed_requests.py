"""AK/SK-signed requests (SDK-HMAC-SHA256), signed by the Huawei Cloud SDK's own signer.

Accepted exactly when the SDK's signature is right; every refusal is a 401 in ROMA's error
shape (`APIGW.0301`, as Huawei Cloud's gateway answers), and a signed poll is served by the
cached fast path just as a token's is.
"""

import json
from datetime import UTC, datetime, timedelta
from http import HTTPStatus

import pytest
from django.utils import timezone

from asset_jobs.models import AssetJob
from jobs.polling import CachedPollMixin
from tenancy.models import AccessKey
from tenancy.services import access_key_revoke
from tests.asset_jobs.factories import make_job, reload
from tests.asset_jobs.helpers import assert_roma_error, job_url, list_url
from tests.conftest import clear_cache
from tests.sdk_signing import sdk_date, signed

pytestmark = pytest.mark.django_db

BAD_SIGNATURE = "APIGW.0301"


@pytest.fixture
def member(make_member, tenant):
    return make_member(tenant, "admin")


@pytest.fixture
def pair(make_access_key, member, tenant) -> tuple[str, str]:
    return make_access_key(member, tenant)


@pytest.fixture
def job(instance):
    return make_job(instance)


@pytest.fixture
def get(client, pair, tenant):
    """Return a function making an SDK-signed GET (signing options as keyword arguments)."""

    def send(path, *, ak=None, sk=None, **options):
        options.setdefault("project_id", tenant.project_id)
        meta = signed("GET", path, ak=ak or pair[0], sk=sk or pair[1], **options)
        return client.get(path, **meta)

    return send


def test_an_sdk_signed_read_answers_the_job(get, job):
    response = get(job_url(job))

    assert response.status_code == HTTPStatus.OK
    assert response.json()["id"] == job.pk


def test_an_sdk_signed_list_with_query_parameters_answers_the_page(get, instance, job):
    response = get(list_url(instance), query=[("status", "Running"), ("limit", "5")])

    assert response.status_code == HTTPStatus.OK
    assert [row["id"] for row in response.json()["jobs"]] == [job.pk]


def test_an_sdk_signed_json_body_is_accepted_with_its_hash(client, pair, instance, tenant):
    path = list_url(instance)
    body = json.dumps({"type": "deleteAsset"}).encode()
    meta = signed("POST", path, ak=pair[0], sk=pair[1], body=body)

    response = client.generic("POST", path, body, "application/json", **meta)

    assert response.status_code == HTTPStatus.OK
    assert AssetJob.objects.for_tenant(tenant).get().type == "deleteAsset"


def test_a_body_changed_after_signing_is_refused_and_creates_nothing(client, pair, instance):
    path = list_url(instance)
    meta = signed("POST", path, ak=pair[0], sk=pair[1], body=b'{"type": "deleteAsset"}')

    response = client.generic("POST", path, b'{"type": "exportAsset"}', "application/json", **meta)

    assert_roma_error(response, HTTPStatus.UNAUTHORIZED, BAD_SIGNATURE)
    assert not AssetJob.objects.across_tenants().exists()


def test_an_unsigned_payload_is_refused_for_a_json_body(client, pair, instance):
    path = list_url(instance)
    body = b'{"type": "exportAsset"}'
    meta = signed(
        "POST", path, ak=pair[0], sk=pair[1], body=body,
        headers={"X-Sdk-Content-Sha256": "UNSIGNED-PAYLOAD"},
    )  # fmt: skip

    response = client.generic("POST", path, body, "application/json", **meta)

    body = assert_roma_error(response, HTTPStatus.UNAUTHORIZED, BAD_SIGNATURE)
    assert body["error_details"] == "A JSON body must be signed."
    assert not AssetJob.objects.across_tenants().exists()


@pytest.mark.parametrize(
    ("case", "details"),
    [
        ("wrong secret", "The signature does not match the request."),
        ("unknown key", "The access key does not exist."),
        ("date 16 minutes old", "X-Sdk-Date is more than 15 minutes away from the server's time."),
        (
            "date 16 minutes ahead",
            "X-Sdk-Date is more than 15 minutes away from the server's time.",
        ),
        ("malformed date", "X-Sdk-Date must be a UTC time such as 20260115T150000Z."),
        ("another path", "The signature does not match the request."),
    ],
)
def test_a_bad_signature_is_a_401_in_romas_shape_naming_the_problem(
    client, pair, tenant, job, case, details
):
    path = job_url(job)
    ak, sk, signed_path, date = pair[0], pair[1], path, sdk_date()
    if case == "wrong secret":
        sk = sk[:-1] + ("a" if sk[-1] != "a" else "b")
    elif case == "unknown key":
        ak = "UNKNOWNKEY0000000000"
    elif case.startswith("date 16 minutes"):
        delta = timedelta(minutes=16) * (1 if "ahead" in case else -1)
        date = sdk_date(datetime.now(UTC) + delta)
    elif case == "another path":
        signed_path = list_url(job.instance)
    meta = signed("GET", signed_path, ak=ak, sk=sk, project_id=tenant.project_id, date=date)
    if case == "malformed date":  # the SDK itself only writes well-formed dates
        meta["HTTP_X_SDK_DATE"] = "2026-01-15T15:00:00Z"

    response = client.get(path, **meta)

    body = assert_roma_error(
        response,
        HTTPStatus.UNAUTHORIZED,
        BAD_SIGNATURE,
        "Incorrect IAM authentication information.",
    )
    assert body["error_details"] == details


@pytest.mark.parametrize("unsigned", ["host", "x-sdk-date"])
def test_a_signature_that_leaves_host_or_the_date_unsigned_is_refused(client, pair, job, unsigned):
    path = job_url(job)
    meta = signed("GET", path, ak=pair[0], sk=pair[1])
    names = meta["HTTP_AUTHORIZATION"].split("SignedHeaders=")[1].split(",")[0]
    kept = ";".join(name for name in names.split(";") if name != unsigned)
    meta["HTTP_AUTHORIZATION"] = meta["HTTP_AUTHORIZATION"].replace(names, kept)

    response = client.get(path, **meta)

    body = assert_roma_error(response, HTTPStatus.UNAUTHORIZED, BAD_SIGNATURE)
    assert body["error_details"] == "host and x-sdk-date must be signed."


@pytest.mark.parametrize(
    "header",
    [
        "SDK-HMAC-SHA256",
        "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date",
        "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature=xyz",
        "SDK-HMAC-SHA256 Access=A K, SignedHeaders=host;x-sdk-date, Signature=" + "0" * 64,
    ],
)
def test_a_malformed_signature_header_is_a_401_not_a_500(api_client, job, header):
    response = api_client.get(job_url(job), HTTP_AUTHORIZATION=header, HTTP_X_SDK_DATE=sdk_date())

    body = assert_roma_error(response, HTTPStatus.UNAUTHORIZED, BAD_SIGNATURE)
    assert "SDK-HMAC-SHA256" in body["error_details"]


def test_a_revoked_key_is_refused_on_the_very_next_request(get, job, pair):
    assert get(job_url(job)).status_code == HTTPStatus.OK  # now cached, with the job

    access_key_revoke(access_key=AccessKey.objects.get(access_key_id=pair[0]))

    body = assert_roma_error(get(job_url(job)), HTTPStatus.UNAUTHORIZED, BAD_SIGNATURE)
    assert body["error_details"] == "The access key has been revoked."


def test_an_expired_key_is_refused_although_cached(
    get, job, member, tenant, make_access_key, monkeypatch
):
    ak, sk = make_access_key(member, tenant, expires_at=timezone.now() + timedelta(hours=1))
    assert get(job_url(job), ak=ak, sk=sk).status_code == HTTPStatus.OK
    later = timezone.now() + timedelta(hours=2)
    monkeypatch.setattr("tenancy.models.timezone.now", lambda: later)

    response = get(job_url(job), ak=ak, sk=sk, date=sdk_date(later))

    body = assert_roma_error(response, HTTPStatus.UNAUTHORIZED, BAD_SIGNATURE)
    assert body["error_details"] == "The access key has expired."


def test_a_key_of_a_member_who_lost_the_role_grants_nothing(get, job, member, tenant):
    from tenancy.services import membership_revoke

    membership_revoke(user=member, tenant=tenant)

    assert_roma_error(get(job_url(job)), HTTPStatus.FORBIDDEN, "ROMA.1006")


def test_another_tenants_project_is_403_and_its_job_unchanged(
    get, make_member, make_access_key, other_tenant, other_instance
):
    theirs = make_job(other_instance)

    response = get(job_url(theirs), project_id=other_tenant.project_id)

    assert_roma_error(response, HTTPStatus.FORBIDDEN, "ROMA.1006")
    assert reload(theirs).status == "Running"


def test_an_x_project_id_other_than_the_paths_project_is_403(get, job, other_tenant):
    response = get(job_url(job), project_id=other_tenant.project_id)

    body = assert_roma_error(response, HTTPStatus.FORBIDDEN, "ROMA.1006")
    assert "X-Project-Id" in body["error_details"]


def test_a_signed_request_records_when_the_key_was_last_used(get, job, pair):
    get(job_url(job))

    assert AccessKey.objects.get(access_key_id=pair[0]).last_used_at is not None


def test_a_signature_is_no_credential_on_canvas_routes(client, pair):
    path = "/api/v1/progress/1"
    response = client.get(path, **signed("GET", path, ak=pair[0], sk=pair[1]))

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["status"] == "unauthenticated"


def test_the_secret_never_reaches_the_log_or_the_answer(get, job, pair, caplog):
    caplog.set_level("DEBUG")
    wrong = get(job_url(job), sk=pair[1][::-1])
    right = get(job_url(job))

    assert pair[1] not in caplog.text
    assert pair[1].encode() not in wrong.content + right.content


# The poll hot path -----------------------------------------------------------------------------


def test_a_first_signed_poll_costs_at_most_key_job_and_reasons(
    get, job, django_assert_max_num_queries
):
    get(job_url(job))  # records last_used_at
    clear_cache()

    with django_assert_max_num_queries(3):
        assert get(job_url(job)).status_code == HTTPStatus.OK


def test_a_repeated_signed_poll_runs_no_query_and_skips_the_full_path(
    get, job, django_assert_num_queries, monkeypatch
):
    get(job_url(job))
    calls = []
    original = CachedPollMixin.poll
    monkeypatch.setattr(
        CachedPollMixin, "poll", lambda self, request: calls.append(1) or original(self, request)
    )

    with django_assert_num_queries(0):
        response = get(job_url(job))

    assert response.status_code == HTTPStatus.OK
    assert calls == []


def test_a_cached_signed_answer_is_the_uncached_answer_byte_for_byte(get, job):
    clear_cache()
    uncached = get(job_url(job))
    cached = get(job_url(job))

    assert cached.content == uncached.content
    ignored = {"X-Request-Id"}
    assert {k: v for k, v in cached.items() if k not in ignored} == {
        k: v for k, v in uncached.items() if k not in ignored
    }


@pytest.mark.parametrize("case", ["wrong secret", "stale date", "other project header"])
def test_a_cached_key_and_job_never_serve_a_request_the_full_path_refuses(
    get, job, pair, other_tenant, case
):
    assert get(job_url(job)).status_code == HTTPStatus.OK  # key and snapshot now cached
    options = {
        "wrong secret": {"sk": pair[1][::-1]},
        "stale date": {"date": sdk_date(datetime.now(UTC) - timedelta(minutes=20))},
        "other project header": {"project_id": other_tenant.project_id},
    }[case]

    response = get(job_url(job), **options)

    expected = HTTPStatus.FORBIDDEN if case == "other project header" else HTTPStatus.UNAUTHORIZED
    assert response.status_code == expected
