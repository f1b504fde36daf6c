"""How a family's API turns exceptions into its error envelope, shared by every family.

`respond` is the skeleton of every family's DRF exception handler: it normalises what Django,
DRF and the core raise into DRF exceptions (`normalize`), rolls back the request's
transaction, and adds the headers every family sends (`Retry-After` for a throttled or
waiting client, `WWW-Authenticate` where the family names one). The family's `errors.py`
supplies only its envelope: the status, body and extra headers for an exception.

An outage of the database or the cache (`tenancy.outage`) is nobody's bug and worth a retry:
every family answers it 503 with `Retry-After`, in its envelope (`ServiceUnavailable`).

A server error (anything else) is left to Django, unless the family answers those in its
envelope too (`server_errors=True`): then it is logged with its traceback and answered 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import set_rollback

from jobs.idempotency import IdempotencyKeyReused, InvalidIdempotencyKey
from jobs.parsers import BodyTooLarge
from jobs.producers import AmbiguousTenant
from jobs.transitions import TransitionRefused
from tenancy import outage

logger = logging.getLogger(__name__)


class StateConflict(exceptions.APIException):
    """The job's current state does not allow the change (e.g. completing a cancelled job)."""

    status_code = HTTPStatus.CONFLICT
    default_code = "conflict"


class IdempotencyKeyConflict(exceptions.APIException):
    """An `Idempotency-Key` reused with a different request body."""

    status_code = HTTPStatus.UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"


# Python 3.13 renamed two status phrases after RFC 9110 ("Content Too Large", "Unprocessable
# Content"). The schema and Canvas' LTI error types keep the names they were published with,
# whatever the interpreter.
PUBLISHED_PHRASES = {413: "Request Entity Too Large", 422: "Unprocessable Entity"}


def status_phrase(status: int) -> str:
    """Return the reason phrase of `status` as jobdesk publishes it, on every Python."""
    return PUBLISHED_PHRASES.get(int(status), HTTPStatus(status).phrase)


class ServiceUnavailable(exceptions.APIException):
    """The database or the cache is unavailable: retry after `wait` seconds."""

    status_code = HTTPStatus.SERVICE_UNAVAILABLE
    default_detail = "The service is unavailable for a moment; try again shortly."
    default_code = "service_unavailable"

    def __init__(self) -> None:
        super().__init__()
        # `respond` turns `wait` into the Retry-After header.
        self.wait = outage.retry_after()


def normalize(exc: Exception) -> exceptions.APIException | None:
    """Return `exc` as a DRF exception, or None for errors that are not the client's."""
    if isinstance(exc, exceptions.APIException):
        return exc
    if outage.is_outage(exc):
        outage.noticed(exc)
        return ServiceUnavailable()
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, RequestDataTooBig):
        return BodyTooLarge()
    if isinstance(exc, TransitionRefused):
        return StateConflict(str(exc))
    if isinstance(exc, AmbiguousTenant | InvalidIdempotencyKey):
        return exceptions.ValidationError(str(exc))
    if isinstance(exc, IdempotencyKeyReused):
        return IdempotencyKeyConflict(str(exc))
    return None


# An envelope: (exception, DRF context) -> (status, body, extra headers).
Envelope = Callable[[exceptions.APIException, dict], tuple[int, object, dict[str, str]]]


class ServerError(exceptions.APIException):
    """An error that is not the client's, answered in the family's envelope."""

    default_detail = "Internal Server Error"


def respond(
    exc: Exception, context: dict, envelope: Envelope, *, server_errors: bool = False
) -> Response | None:
    """Answer an error in the family's `envelope`; None lets a server error through to Django."""
    api_exc = normalize(exc)
    if api_exc is None:
        if not server_errors:
            return None
        logger.error("Unhandled error in %s", context.get("view"), exc_info=exc)
        api_exc = ServerError()
    status, body, headers = envelope(api_exc, context)
    headers = dict(headers)
    if getattr(api_exc, "auth_header", None):
        # DRF's own: the first authenticator's challenge, for a 401.
        headers.setdefault("WWW-Authenticate", api_exc.auth_header)
    if getattr(api_exc, "wait", None):
        headers["Retry-After"] = str(int(api_exc.wait))
    set_rollback()
    return Response(body, status=status, headers=headers)
