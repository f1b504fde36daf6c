"""The wire shapes of the Google LRO family, in the protobuf JSON mapping (camelCase keys).

`google.longrunning.Operation` is `{name, metadata, done, error | response}`, keys in the
proto's field order. `metadata` and `response` are `google.protobuf.Any`s holding the
well-known `google.protobuf.Struct`, so a client decodes them with no descriptors of
jobdesk's own: `{"@type": "type.googleapis.com/google.protobuf.Struct", "value": {...}}`.
`error` is a `google.rpc.Status`, `{code, message, details}`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from rest_framework import serializers

from lro.models import Operation

STRUCT_TYPE = "type.googleapis.com/google.protobuf.Struct"
STRUCT_TYPES = [STRUCT_TYPE]


def timestamp(value: datetime) -> str:
    """Format a time as `google.protobuf.Timestamp` JSON: RFC 3339, UTC, `Z`."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def struct_any(value: dict) -> dict:
    """Return `value` packed as a `google.protobuf.Any` holding a Struct, in JSON form."""
    return {"@type": STRUCT_TYPE, "value": value}


def shown_metadata(op: Operation) -> dict:
    """Return the metadata a client sees: jobdesk's times, then the producer's keys."""
    times = {"createTime": timestamp(op.created_at)}
    if op.ended_at is not None:
        times["endTime"] = timestamp(op.ended_at)
    return {**times, **op.metadata}


def rpc_status(code: int, message: str) -> dict:
    """Return a `google.rpc.Status` in JSON form."""
    return {"code": code, "message": message, "details": []}


class StructAnySerializer(serializers.Serializer):
    """A `google.protobuf.Any` holding a `google.protobuf.Struct`."""

    def get_fields(self) -> dict:
        return {
            "@type": serializers.ChoiceField(
                STRUCT_TYPES, help_text="Always `google.protobuf.Struct`."
            ),
            "value": serializers.DictField(help_text="The Struct: any JSON object."),
        }


class RpcStatusSerializer(serializers.Serializer):
    """A `google.rpc.Status`: the error of a failed or cancelled operation."""

    code = serializers.IntegerField(
        min_value=1, max_value=16, help_text="A `google.rpc.Code`; 1 is CANCELLED."
    )
    message = serializers.CharField(allow_blank=True)
    details = serializers.ListField(child=serializers.DictField(), help_text="Always empty.")


class OperationSerializer(serializers.Serializer):
    """`google.longrunning.Operation`; `error` or `response` only once `done` is true."""

    name = serializers.CharField(help_text="`projects/{project}/operations/{id}`.")
    metadata = StructAnySerializer(
        help_text="`createTime`, `endTime` once done, then the producer's own keys."
    )
    done = serializers.BooleanField()
    error = RpcStatusSerializer(required=False, help_text="Failed or cancelled operations only.")
    response = StructAnySerializer(required=False, help_text="Succeeded operations only.")

    def to_representation(self, op: Operation) -> dict:
        body = {"name": op.name, "metadata": struct_any(shown_metadata(op)), "done": op.done}
        if op.state == Operation.State.SUCCEEDED:
            body["response"] = struct_any(op.response or {})
        elif op.done:
            body["error"] = rpc_status(op.error_code, op.error_message)
        return body
