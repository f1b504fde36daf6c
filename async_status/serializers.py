"""The Traffic Ops wire shape of an async status."""

from __future__ import annotations

from datetime import UTC, datetime

from rest_framework import serializers

from async_status.models import AsyncStatus
from jobs.api import StrictCharField


def rfc3339(value: datetime) -> str:
    """Format like Go's time.Time JSON: RFC 3339, fraction trimmed of trailing zeros, `Z`."""
    value = value.astimezone(UTC)
    fraction = f".{value.microsecond:06d}".rstrip("0") if value.microsecond else ""
    return value.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


class TrafficOpsDateTimeField(serializers.DateTimeField):
    """A time as Traffic Ops renders `start_time` and `end_time`."""

    def to_representation(self, value: datetime | None) -> str | None:
        return None if value is None else rfc3339(value)


class AsyncStatusSerializer(serializers.ModelSerializer):
    """`{id, status, start_time, end_time, message}`, in that order; `end_time` null if pending."""

    start_time = TrafficOpsDateTimeField(read_only=True)
    end_time = TrafficOpsDateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = AsyncStatus
        fields = ["id", "status", "start_time", "end_time", "message"]
        read_only_fields = fields


# A producer's `POST /api/<v>/async_status` body.
class AsyncStatusCreateSerializer(serializers.Serializer):
    message = StrictCharField(allow_blank=True, trim_whitespace=False)


# A producer's `PUT /api/<v>/async_status/<id>` body: a new message, maybe the end.
class AsyncStatusReportSerializer(serializers.Serializer):
    # Text checked below, not a ChoiceField: its enum would clash with the response's.
    status = StrictCharField(
        default=AsyncStatus.State.PENDING, help_text="PENDING, SUCCEEDED or FAILED."
    )
    message = StrictCharField(allow_blank=True, trim_whitespace=False)

    def validate_status(self, value: str) -> str:
        if value not in AsyncStatus.State.values:
            raise serializers.ValidationError("Use PENDING, SUCCEEDED or FAILED.")
        return value
