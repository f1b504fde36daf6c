"""The ROMA Connect error envelope, produced here for every response of the asset job family.

Every error is `{"error_code", "error_msg", "error_details", "request_id"}` (in this order),
and the request id is also sent in the `X-Request-Id` header, where Huawei Cloud SDKs read it.
"""

from __future__ import annotations

import uuid

from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

from jobs.errors import IdempotencyKeyConflict, ServiceUnavailable, StateConflict, respond
from tenancy.signing import SignatureRejected

# ROMA's documented limit for error_msg and error_details.
MAX_TEXT_LENGTH = 128


class RomaError(exceptions.APIException):
    """An error with its own ROMA code and message; the detail becomes `error_details`."""

    error_code: str
    error_msg: str

    def __init__(self, details: str | None = None) -> None:
        super().__init__(detail=details or self.error_msg)


class InvalidParameters(RomaError):
    status_code = status.HTTP_400_BAD_REQUEST
    error_code = "ROMA.13000"
    error_msg = "Invalid parameters."


class InstanceNotFound(RomaError):
    status_code = status.HTTP_404_NOT_FOUND
    error_code = "ROMA.00014002"
    error_msg = "instance not found"


class ResourceNotFound(RomaError):
    status_code = status.HTTP_404_NOT_FOUND
    error_code = "ROMA.00110006"
    error_msg = "The resource does not exist."


class InvalidRequestURL(RomaError):
    status_code = status.HTTP_404_NOT_FOUND
    error_code = "ROMA.1007"
    error_msg = "Invalid request URL."


class UnsupportedOperation(RomaError):
    """No handler runs jobs of this type in this deployment."""

    status_code = status.HTTP_400_BAD_REQUEST
    error_code = "ROMA.12002"
    error_msg = "The user does not support this feature."


class AssetTaskRunning(RomaError):
    status_code = status.HTTP_400_BAD_REQUEST
    error_code = "ROMA.10012"
    error_msg = "An asset management task is running."


class NotAZip(RomaError):
    status_code = status.HTTP_400_BAD_REQUEST
    error_code = "ROMA.10013"
    error_msg = "Only .zip files are supported."


NO_TOKEN = ("ROMA.1000", "No token is available in the request.")
BAD_TOKEN = ("ROMA.1002", "Incorrect token in the request.")
NO_PERMISSION = ("ROMA.1006", "You do not have the permissions required to perform this operation.")
THROTTLED = ("APIGW.0308", "The throttling threshold has been reached.")
SERVER_ERROR = ("APIC.9000", "Internal server error.")
UNAVAILABLE = ("ROMA.JOBDESK.UNAVAILABLE", "The service is temporarily unavailable.")

TOKEN_PROBLEMS = {
    "invalid_token": "The token is unknown or malformed.",
    "expired_token": "The token has expired.",
    "revoked_token": "The token has been revoked.",
}
# A refused AK/SK signature, as Huawei Cloud's API gateway answers it; `error_details` is the
# refusal's own text (tenancy.signing, tenancy.authentication), which names no secret.
BAD_SIGNATURE = ("APIGW.0301", "Incorrect IAM authentication information.")
NO_CREDENTIALS_DETAILS = (
    "Send an API token in the X-Auth-Token header, or sign the request with an access key "
    "(SDK-HMAC-SHA256)."
)


# The core's errors, in ROMA's words.
STATE_CONFLICT = ("ROMA.JOBDESK.CONFLICT", "The job's status does not allow this change.")
KEY_REUSED = ("ROMA.JOBDESK.IDEMPOTENCY", "The Idempotency-Key was used with a different request.")


class ArchiveTooLarge(RomaError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    error_code = "ROMA.JOBDESK.TOO_LARGE"
    error_msg = "The package is too large."


def request_id_of(context: dict) -> str:
    """Return the view's request id (a fresh one if the error happened outside a view)."""
    view = context.get("view")
    return getattr(view, "request_id", None) or uuid.uuid4().hex


def flatten(detail: object) -> str:
    """Return a DRF error detail (string, list or dict, nested) as one line of text."""
    if isinstance(detail, dict):
        return "; ".join(f"{key}: {flatten(value)}" for key, value in detail.items())
    if isinstance(detail, list | tuple):
        return " ".join(flatten(item) for item in detail)
    return str(detail)


def shorten(text: str) -> str:
    """Return `text` cut to ROMA's 128-character limit."""
    if len(text) <= MAX_TEXT_LENGTH:
        return text
    return text[: MAX_TEXT_LENGTH - 1] + "…"


def code_and_message(exc: exceptions.APIException) -> tuple[str, str, str]:
    """Return the ROMA error code, message and details for a DRF exception."""
    details = flatten(exc.detail)
    if isinstance(exc, RomaError):
        return exc.error_code, exc.error_msg, details
    if isinstance(exc, StateConflict):
        return *STATE_CONFLICT, details
    if isinstance(exc, IdempotencyKeyConflict):
        return *KEY_REUSED, details
    if isinstance(exc, exceptions.NotAuthenticated):
        return *NO_TOKEN, NO_CREDENTIALS_DETAILS
    if isinstance(exc, SignatureRejected):
        return *BAD_SIGNATURE, details
    if isinstance(exc, exceptions.AuthenticationFailed):
        return *BAD_TOKEN, TOKEN_PROBLEMS.get(exc.get_codes(), details)
    if isinstance(exc, exceptions.PermissionDenied):
        return *NO_PERMISSION, details
    if isinstance(exc, exceptions.NotFound):
        return ResourceNotFound.error_code, ResourceNotFound.error_msg, details
    if isinstance(exc, exceptions.MethodNotAllowed):
        return InvalidRequestURL.error_code, InvalidRequestURL.error_msg, details
    if isinstance(exc, exceptions.Throttled):
        return *THROTTLED, details
    if isinstance(exc, ServiceUnavailable):
        return *UNAVAILABLE, details
    if exc.status_code >= status.HTTP_500_INTERNAL_SERVER_ERROR:
        return *SERVER_ERROR, details
    return InvalidParameters.error_code, InvalidParameters.error_msg, details


def roma_envelope(exc: exceptions.APIException, context: dict) -> tuple[int, dict, dict]:
    """Return the status, body and headers of ROMA's answer to `exc`."""
    error_code, error_msg, details = code_and_message(exc)
    request_id = request_id_of(context)
    body = {
        "error_code": error_code,
        "error_msg": error_msg,
        "error_details": shorten(details or error_msg),
        "request_id": request_id,
    }
    return exc.status_code, body, {"X-Request-Id": request_id}


def roma_exception_handler(exc: Exception, context: dict) -> Response | None:
    """Render any client error (and Http404) as the ROMA error envelope."""
    if isinstance(exc, Http404):
        exc = ResourceNotFound()
    return respond(exc, context, roma_envelope)
