"""The asset job wire shape of ROMA Connect's CheckAssetJobStatus, key order included."""

from __future__ import annotations

from rest_framework import serializers

from asset_jobs.models import AssetJob, AssetJobReason, spelled_status
from jobs.api import UtcSecondsDateTimeField


class AssetJobReasonSerializer(serializers.ModelSerializer):
    class Meta:
        model = AssetJobReason
        fields = ["resource_type", "resource_name", "error_code", "error_msg"]
        read_only_fields = fields


class SpelledStatusField(serializers.Field):
    """The job's status as its instance spells it (ROMA's classic or current spelling)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, job: AssetJob) -> str:
        return spelled_status(job.status, job.instance.status_spelling)


class AssetJobSerializer(serializers.ModelSerializer):
    """One job; `archive_id` appears only while the export's package can be downloaded."""

    status = SpelledStatusField()
    reasons = AssetJobReasonSerializer(many=True, read_only=True)
    # ROMA writes UTC times in whole seconds: `2019-12-06T06:49:04Z`.
    begin_time = UtcSecondsDateTimeField()
    end_time = UtcSecondsDateTimeField(allow_null=True)

    class Meta:
        model = AssetJob
        fields = [
            "id",
            "type",
            "status",
            "reasons",
            "progress_percent",
            "archive_id",
            "begin_time",
            "end_time",
        ]
        read_only_fields = fields

    def to_representation(self, instance: AssetJob) -> dict:
        data = super().to_representation(instance)
        if not instance.is_downloadable:
            del data["archive_id"]
        return data
