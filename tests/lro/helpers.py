"""Helpers of the Google long-running operation tests."""

from lro.models import Operation


def url(op: Operation, suffix: str = "") -> str:
    """Return the REST path of `op` (plus `:cancel`, `:wait`)."""
    return f"/v1/{op.name}{suffix}"


def collection(tenant) -> str:
    return f"/v1/projects/{tenant.project_id}/operations"


def error_of(response) -> dict:
    """Return the `error` of a Google error body, checking the envelope's shape."""
    body = response.json()
    assert list(body) == ["error"]
    assert list(body["error"]) == ["code", "message", "status", "details"]
    assert body["error"]["code"] == response.status_code
    assert body["error"]["details"] == []
    return body["error"]


def reloaded(op: Operation) -> Operation:
    return Operation.objects.across_tenants().select_related("tenant").get(pk=op.pk)


def nested(levels: int) -> list:
    """Return a JSON array nested `levels` deep."""
    value: list | int = 1
    for _ in range(levels):
        value = [value]
    return value
