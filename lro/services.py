"""The only writers of operation rows: create, update metadata, finish, fail, cancel, delete.

Every transition is one conditional UPDATE on a RUNNING row (`jobs.transitions`), so a cancel
racing a finish leaves exactly one winner and a done operation is never rewritten. Payloads
are checked here, once for every caller: metadata and responses are JSON objects (the values
of `google.protobuf.Struct`s), an error code is a `google.rpc.Code` other than OK.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from jobs import watch
from jobs.registry import families
from jobs.timeline import insert_new_job
from jobs.transitions import TransitionRefused, transition
from lro.models import CANCELLED_CODE, MAX_ERROR_CODE, Operation
from tenancy.models import Tenant

State = Operation.State
RUNNING = [State.RUNNING]
# jobdesk writes these into every operation's metadata (docs/api/lro.md).
RESERVED_METADATA_KEYS = frozenset({"createTime", "endTime"})
# Protobuf parsers refuse messages nested past 100 levels; a Struct level costs two.
MAX_PAYLOAD_DEPTH = 32
CANCELLED_MESSAGE = "Operation was cancelled."


class InvalidPayload(ValueError):
    """Metadata, a response or an error that an Operation cannot carry."""


def depth_of(value: Any) -> int:
    """Return how deeply JSON objects and arrays nest in `value` (0 for a scalar)."""
    if isinstance(value, dict):
        children = value.values()
    elif isinstance(value, list):
        children = value
    else:
        return 0
    return 1 + max((depth_of(child) for child in children), default=0)


def check_struct(value: object, what: str) -> dict:
    """Return `value` if it can be a `google.protobuf.Struct`: a JSON object, finite numbers."""
    if not isinstance(value, dict):
        raise InvalidPayload(f"{what} must be a JSON object, not {type(value).__name__}.")
    try:
        if depth_of(value) > MAX_PAYLOAD_DEPTH:
            raise InvalidPayload(f"{what} nests deeper than {MAX_PAYLOAD_DEPTH} levels.")
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as error:
        if isinstance(error, InvalidPayload):
            raise
        raise InvalidPayload(f"{what} must hold JSON values only: {error}.") from None
    except RecursionError:
        raise InvalidPayload(f"{what} nests deeper than {MAX_PAYLOAD_DEPTH} levels.") from None
    return value


def check_metadata(metadata: object) -> dict:
    """Return `metadata` if it is a JSON object without the keys jobdesk writes itself."""
    metadata = check_struct(metadata, "metadata")
    if reserved := sorted(RESERVED_METADATA_KEYS & set(metadata)):
        raise InvalidPayload(f"metadata may not set {', '.join(reserved)}: jobdesk writes them.")
    return metadata


def check_error(code: object, message: object) -> tuple[int, str]:
    if isinstance(code, bool) or not isinstance(code, int) or not 1 <= code <= MAX_ERROR_CODE:
        raise InvalidPayload(f"error code must be a google.rpc.Code from 1 to {MAX_ERROR_CODE}.")
    if not isinstance(message, str):
        raise InvalidPayload("error message must be a string.")
    return code, message


def operation_create(
    *, tenant: Tenant, user: AbstractBaseUser | None = None, metadata: dict | None = None
) -> Operation:
    """Record a new RUNNING operation in `tenant`; its `.name` is its resource name."""
    op = Operation(tenant=tenant, user=user, metadata=check_metadata(metadata or {}))
    return insert_new_job(op)


def operation_update(op: Operation, *, metadata: dict) -> Operation:
    """Replace a RUNNING operation's metadata (a progress report, with a heartbeat)."""
    return transition(
        op,
        event="update",
        allowed=RUNNING,
        metadata=check_metadata(metadata),
        heartbeat_at=timezone.now(),
    )


def operation_heartbeat(op: Operation) -> Operation:
    """Record that a RUNNING operation's worker is alive (TransitionRefused once it is done)."""
    return transition(op, event="report on", allowed=RUNNING, heartbeat_at=timezone.now())


def operation_finish(op: Operation, *, response: dict | None = None) -> Operation:
    """Finish a RUNNING operation successfully with `response` (an empty object by default)."""
    return transition(
        op,
        event="finish",
        allowed=RUNNING,
        to=State.SUCCEEDED,
        response=check_struct({} if response is None else response, "response"),
        ended_at=timezone.now(),
    )


def operation_fail(op: Operation, *, code: int, message: str) -> Operation:
    """Finish a RUNNING operation with the error `code` (a google.rpc.Code) and `message`."""
    code, message = check_error(code, message)
    return transition(
        op,
        event="fail",
        allowed=RUNNING,
        to=State.FAILED,
        error_code=code,
        error_message=message,
        ended_at=timezone.now(),
    )


def operation_cancel(op: Operation, *, actor: AbstractBaseUser | None = None) -> bool:
    """Cancel a RUNNING operation: it ends done with error code 1 CANCELLED.

    Return True if this call cancelled it; False (the operation unchanged) if it was done.
    `actor` is who asked; the admin records it in the operation's history.
    """
    try:
        transition(
            op,
            event="cancel",
            allowed=RUNNING,
            to=State.CANCELLED,
            error_code=CANCELLED_CODE,
            error_message=CANCELLED_MESSAGE,
            ended_at=timezone.now(),
        )
    except TransitionRefused:
        return False
    return True


def operation_delete(op: Operation) -> bool:
    """Forget an operation, done or not (it is not cancelled); False if it was gone already."""
    family = families.for_model(Operation)
    with transaction.atomic():
        deleted, _ = family.jobs().filter(pk=op.pk).delete()
        family.snapshots.changed(op.pk)
        if deleted:
            watch.jobs_gone(family, [(op.pk, op.tenant_id)])
    return bool(deleted)
