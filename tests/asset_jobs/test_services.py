import math
import zipfile
from io import BytesIO

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from asset_jobs.models import AssetJob, AssetJobReason
from asset_jobs.services import (
    CANCELLED_ERROR_CODE,
    AssetArchiveUnavailable,
    asset_archive_claim,
    asset_job_cancel,
    asset_job_create,
    asset_job_fail,
    asset_job_succeed,
    asset_job_update,
    instance_create,
)
from jobs.registry import families
from jobs.transitions import TransitionRefused
from tests.asset_jobs.factories import (
    REASON,
    InstanceFactory,
    make_export_with_package,
    make_job,
    make_zip,
    reload,
)
from tests.factories import TenantFactory, UserFactory
from tests.helpers import run_together

pytestmark = pytest.mark.django_db

State = AssetJob.State


def test_created_job_is_running_in_its_instances_tenant_with_a_32_hex_id(instance):
    job = asset_job_create(instance=instance, type="exportAsset")

    stored = reload(job)
    assert stored.status == State.RUNNING
    assert stored.tenant_id == instance.tenant_id
    assert len(stored.pk) == 32
    assert int(stored.pk, 16) >= 0
    assert stored.pk == stored.pk.lower()
    assert stored.progress_percent == 0.0
    assert stored.end_time is None


def test_unknown_job_type_is_refused(instance):
    with pytest.raises(ValidationError, match="Unknown job type"):
        asset_job_create(instance=instance, type="exportAll")
    assert not AssetJob.objects.across_tenants().exists()


def test_instance_ids_are_unique_per_tenant_only(tenant, other_tenant):
    instance_create(tenant=tenant, instance_id="shared", name="A")
    instance_create(tenant=other_tenant, instance_id="shared", name="B")

    with pytest.raises(ValidationError, match="already has an instance"):
        instance_create(tenant=tenant, instance_id="shared", name="C")


@pytest.mark.parametrize("instance_id", ["", "a" * 65, "../x", "with space", "x\n"])
def test_malformed_instance_ids_are_refused(tenant, instance_id):
    with pytest.raises(ValidationError):
        instance_create(tenant=tenant, instance_id=instance_id, name="bad")


def test_progress_moves_forward_and_never_back(instance):
    job = make_job(instance)
    asset_job_update(job, progress_percent=0.5)
    asset_job_update(job, progress_percent=0.5)

    with pytest.raises(ValidationError, match="never goes backwards"):
        asset_job_update(job, progress_percent=0.25)
    assert reload(job).progress_percent == 0.5


@pytest.mark.parametrize("value", [-0.01, 1.01, math.nan, math.inf, -math.inf, True, "0.5", None])
def test_progress_outside_0_to_1_or_not_a_number_is_refused(instance, value):
    job = make_job(instance, progress=0.2)

    with pytest.raises(ValidationError):
        asset_job_update(job, progress_percent=value)
    assert reload(job).progress_percent == 0.2


def test_database_refuses_progress_outside_0_to_1(instance):
    job = make_job(instance)

    with pytest.raises(IntegrityError), transaction.atomic():
        AssetJob.objects.across_tenants().filter(pk=job.pk).update(progress_percent=1.5)


def test_success_sets_progress_to_1_and_the_end_time(instance):
    job = make_job(instance, type=AssetJob.Type.IMPORT, progress=0.4)

    asset_job_succeed(job)

    stored = reload(job)
    assert (stored.status, stored.progress_percent) == (State.SUCCESS, 1.0)
    assert stored.end_time is not None
    assert stored.archive_id is None
    assert not stored.is_downloadable


def test_export_package_is_stored_through_the_storage_api(instance):
    content = make_zip()

    job = make_export_with_package(instance, content)

    stored = reload(job)
    assert len(stored.archive_id) == 32
    assert stored.archive.name.startswith("asset_archives/")
    with default_storage.open(stored.archive.name) as package:
        assert package.read() == content
    assert stored.is_downloadable


def test_package_may_be_a_django_file(instance):
    job = make_job(instance, type=AssetJob.Type.EXPORT)

    asset_job_succeed(job, archive=ContentFile(make_zip(), name="export.zip"))

    assert reload(job).is_downloadable


def test_only_exports_carry_a_package(instance):
    job = make_job(instance, type=AssetJob.Type.IMPORT)

    with pytest.raises(ValidationError, match="Only exportAsset"):
        asset_job_succeed(job, archive=make_zip())
    assert reload(job).status == State.RUNNING


def test_a_package_that_is_not_a_zip_is_refused_and_not_stored(instance, media_root):
    job = make_job(instance, type=AssetJob.Type.EXPORT)

    with pytest.raises(ValidationError, match=r"\.zip"):
        asset_job_succeed(job, archive=b"not a zip at all")
    assert reload(job).status == State.RUNNING
    assert not list(media_root.rglob("*.zip"))


def test_fail_records_reasons_in_order(instance):
    job = make_job(instance)
    reasons = [{**REASON, "resource_name": f"app{n}"} for n in range(3)]

    asset_job_fail(job, reasons=reasons)

    stored = reload(job)
    assert stored.status == State.FAILED
    assert stored.end_time is not None
    names = list(AssetJobReason.objects.filter(job=job).values_list("resource_name", flat=True))
    assert names == ["app0", "app1", "app2"]


@pytest.mark.parametrize(
    "reasons",
    [
        [],
        [REASON] * 11,
        "not a list",
        REASON,
        [{**REASON, "resource_type": "instance"}],
        [{**REASON, "error_msg": "x" * 65}],
        [{**REASON, "resource_name": ""}],
        [{**REASON, "error_code": 101}],
        [{k: v for k, v in REASON.items() if k != "error_msg"}],
        [{**REASON, "extra": "field"}],
    ],
    ids=[
        "none",
        "eleven",
        "string",
        "mapping",
        "bad-type",
        "long-msg",
        "empty-name",
        "int-code",
        "missing-field",
        "extra-field",
    ],
)
def test_invalid_reasons_are_refused_and_the_job_keeps_running(instance, reasons):
    job = make_job(instance)

    with pytest.raises(ValidationError, match="reason"):
        asset_job_fail(job, reasons=reasons)
    assert reload(job).status == State.RUNNING
    assert not AssetJobReason.objects.exists()


def test_ten_reasons_of_64_characters_are_accepted(instance):
    job = make_job(instance)
    long = dict.fromkeys(REASON, "x" * 64) | {"resource_type": "task"}

    asset_job_fail(job, reasons=[long] * 10)

    assert AssetJobReason.objects.filter(job=job).count() == 10


@pytest.mark.parametrize("state", [State.SUCCESS, State.FAILED, State.FINISHED])
@pytest.mark.parametrize(
    "transition",
    [
        lambda job: asset_job_update(job, progress_percent=1.0),
        asset_job_succeed,
        lambda job: asset_job_fail(job, reasons=[REASON]),
    ],
    ids=["update", "succeed", "fail"],
)
def test_finished_jobs_are_terminal(instance, state, transition):
    job = make_job(instance, state)
    before = reload(job)

    with pytest.raises(TransitionRefused) as caught:
        transition(job)

    assert caught.value.state == state
    after = reload(job)
    assert (after.status, after.end_time, after.updated_at) == (
        before.status,
        before.end_time,
        before.updated_at,
    )


def test_cancel_fails_a_running_job_with_a_reason_naming_the_actor(instance):
    job = make_job(instance, type=AssetJob.Type.EXPORT)
    actor = UserFactory(username="opsperson")

    assert asset_job_cancel(job, actor=actor) is True

    assert reload(job).status == State.FAILED
    reason = AssetJobReason.objects.get(job=job)
    assert reason.resource_type == "task"
    assert reason.resource_name == "exportAsset"
    assert reason.error_code == CANCELLED_ERROR_CODE
    assert reason.error_msg == "Cancelled by opsperson."


def test_cancel_message_fits_64_characters_for_long_usernames(instance):
    job = make_job(instance)

    asset_job_cancel(job, actor=UserFactory(username="u" * 150))

    assert len(AssetJobReason.objects.get(job=job).error_msg) == 64


@pytest.mark.parametrize("state", [State.SUCCESS, State.FAILED, State.FINISHED])
def test_cancel_of_a_finished_job_is_refused_and_changes_nothing(instance, state):
    job = make_job(instance, state)
    reasons_before = AssetJobReason.objects.count()

    assert asset_job_cancel(job, actor=UserFactory()) is False

    assert reload(job).status == state
    assert AssetJobReason.objects.count() == reasons_before


def test_claim_hands_out_the_package_once_and_deletes_it(instance):
    content = make_zip()
    job = make_export_with_package(instance, content)
    stored_name, archive_id = job.archive.name, job.archive_id

    package = asset_archive_claim(job=job)

    assert package.file.read() == content
    assert package.size == len(content)
    assert package.filename == f"{archive_id}.zip"
    assert zipfile.is_zipfile(BytesIO(content))
    stored = reload(job)
    assert stored.status == State.FINISHED
    assert stored.archive_id is None
    assert not stored.archive
    assert not default_storage.exists(stored_name)
    with pytest.raises(AssetArchiveUnavailable):
        asset_archive_claim(job=stored)


def test_claim_of_a_stale_copy_after_download_is_refused(instance):
    job = make_export_with_package(instance)
    stale = reload(job)
    asset_archive_claim(job=job).file.close()

    with pytest.raises(AssetArchiveUnavailable) as caught:
        asset_archive_claim(job=stale)
    assert caught.value.state == State.FINISHED


def test_claim_of_a_package_lost_from_storage_is_refused_and_keeps_the_job(instance):
    job = make_export_with_package(instance)
    default_storage.delete(job.archive.name)

    with pytest.raises(AssetArchiveUnavailable):
        asset_archive_claim(job=job)
    assert reload(job).status == State.SUCCESS


def test_state_querysets_select_by_status(instance):
    running, failed = make_job(instance), make_job(instance, State.FAILED)
    ready, done = make_export_with_package(instance), make_job(instance, State.FINISHED)
    jobs = AssetJob.objects.across_tenants()

    assert set(jobs.pending()) == {running}
    assert set(jobs.finished()) == {failed, ready, done}
    assert set(jobs.downloadable()) == {ready}
    assert not AssetJob.objects.pending().exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_cancel_racing_success_leaves_exactly_one_winner():
    instance = InstanceFactory(tenant=TenantFactory())
    actor = UserFactory()
    jobs = [make_job(instance, type=AssetJob.Type.IMPORT) for _ in range(5)]

    for job in jobs:
        cancelled, succeeded = run_together(
            lambda job=job: asset_job_cancel(reload(job), actor=actor),
            lambda job=job: asset_job_succeed(reload(job)),
        )
        stored = reload(job)
        if cancelled is True:
            assert isinstance(succeeded, TransitionRefused)
            assert stored.status == State.FAILED
            assert AssetJobReason.objects.filter(job=job).count() == 1
        else:
            assert cancelled is False
            assert stored.status == State.SUCCESS
            assert not AssetJobReason.objects.filter(job=job).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_claims_hand_the_package_out_once():
    instance = InstanceFactory(tenant=TenantFactory())
    content = make_zip()
    job = make_export_with_package(instance, content)

    results = run_together(
        lambda: asset_archive_claim(job=reload(job)), lambda: asset_archive_claim(job=reload(job))
    )

    packages = [result for result in results if not isinstance(result, Exception)]
    assert len(packages) == 1
    assert packages[0].file.read() == content
    assert sum(isinstance(result, AssetArchiveUnavailable) for result in results) == 1
    assert reload(job).status == State.FINISHED


def test_a_task_report_overtaken_by_a_concurrent_one_keeps_the_progress_and_is_a_heartbeat(
    instance, monkeypatch
):
    job = make_job(instance)
    family = families["asset_jobs"]
    stale = family.load(job.pk)  # read before a concurrent report moved the job to 50 %
    beat = asset_job_update(job, progress_percent=0.5).heartbeat_at
    loads = iter([stale])
    monkeypatch.setattr(family, "load", lambda job_id: next(loads, None) or reload(job))

    assert family.report(job.pk, completion=30, message=None) is True

    job = reload(job)
    assert (job.status, job.progress_percent) == (State.RUNNING, 0.5)
    assert job.heartbeat_at > beat
