"""The asset job wire shape of ROMA Connect's CheckAssetJobStatus, key order included."""

from __future__ import annotations

from datetime import UTC, datetime

from rest_framework import serializers

from asset_jobs.models import AssetJob, AssetJobReason

ROMA_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class RomaDateTimeField(serializers.DateTimeField):
    """A UTC time in whole seconds, as ROMA writes it: `2019-12-06T06:49:04Z`."""

    def to_representation(self, value: datetime | None) -> str | None:
        if value is None:
            return None
        return value.astimezone(UTC).strftime(ROMA_TIME_FORMAT)


class AssetJobReasonSerializer(serializers.ModelSerializer):
    class Meta:
        model = AssetJobReason
        fields = ["resource_type", "resource_name", "error_code", "error_msg"]
        read_only_fields = fields


class AssetJobSerializer(serializers.ModelSerializer):
    """One job; `archive_id` appears only while the export's package can be downloaded."""

    reasons = AssetJobReasonSerializer(many=True, read_only=True)
    begin_time = RomaDateTimeField(read_only=True)
    end_time = RomaDateTimeField(read_only=True, allow_null=True)

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
