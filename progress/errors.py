"""Canvas' error envelopes, produced here and nowhere else.

The REST routes answer `{"errors": [{"message": ...}]}` (plus `"status"` for 401/403, as
Canvas' `render_json_unauthorized` does); the LTI route answers
`{"errors": {"type": ..., "message": ...}}` as Canvas' LTI Advantage services do.
"""

from __future__ import annotations

from http import HTTPStatus

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import set_rollback

from tenancy.drf import BodyTooLarge

WWW_AUTHENTICATE = 'Bearer realm="canvas-lms"'
NOT_FOUND_MESSAGE = "The specified resource does not exist."
UNAUTHENTICATED_MESSAGE = "user authorization required"
UNAUTHORIZED_MESSAGE = "user not authorized to perform that action"
TOKEN_MESSAGES = {
    "invalid_token": "Invalid access token.",
    "expired_token": "Expired access token.",
    "revoked_token": "Revoked access token.",
}
LTI_TOKEN_MESSAGES = {
    "invalid_token": "Access token invalid",
    "expired_token": "Access token expired",
    "revoked_token": "Access token revoked",
}
LTI_MISSING_TOKEN_MESSAGE = "Missing access token"  # noqa: S105 - an error text
LTI_INSUFFICIENT_PERMISSIONS_MESSAGE = "Insufficient permissions"


class ProgressStateConflict(exceptions.APIException):
    """The job's current state does not allow the change (e.g. completing a cancelled job)."""

    status_code = HTTPStatus.CONFLICT
    default_code = "conflict"


class IdempotencyKeyConflict(exceptions.APIException):
    """An `Idempotency-Key` reused with a different request body."""

    status_code = HTTPStatus.UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"


def as_api_exception(exc: Exception) -> exceptions.APIException | None:
    """Return `exc` as a DRF exception, or None for errors that are not the client's."""
    if isinstance(exc, exceptions.APIException):
        return exc
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, RequestDataTooBig):
        return BodyTooLarge()
    return None


def detail_messages(detail: object, field: str | None = None) -> list[str]:
    """Flatten a DRF error detail (string, list or dict) into readable messages."""
    if isinstance(detail, dict):
        return [msg for key, value in detail.items() for msg in detail_messages(value, key)]
    if isinstance(detail, list):
        return [msg for item in detail for msg in detail_messages(item, field)]
    return [f"{field}: {detail}" if field and field != "non_field_errors" else str(detail)]


def canvas_error_body(exc: exceptions.APIException) -> dict:
    """Return Canvas' REST error body for `exc`."""
    if isinstance(exc, exceptions.NotAuthenticated):
        return {"status": "unauthenticated", "errors": [{"message": UNAUTHENTICATED_MESSAGE}]}
    if isinstance(exc, exceptions.AuthenticationFailed):
        message = TOKEN_MESSAGES.get(exc.get_codes(), TOKEN_MESSAGES["invalid_token"])
        return {"errors": [{"message": message}]}
    if isinstance(exc, exceptions.PermissionDenied):
        return {"status": "unauthorized", "errors": [{"message": UNAUTHORIZED_MESSAGE}]}
    if isinstance(exc, exceptions.NotFound):
        return {"errors": [{"message": NOT_FOUND_MESSAGE}]}
    return {"errors": [{"message": message} for message in detail_messages(exc.detail)]}


def canvas_exception_handler(exc: Exception, context: dict) -> Response | None:
    """Answer any client error of the REST routes in Canvas' envelope."""
    api_exc = as_api_exception(exc)
    if api_exc is None:
        return None
    headers = {}
    if isinstance(api_exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        api_exc.status_code = HTTPStatus.UNAUTHORIZED
        headers["WWW-Authenticate"] = WWW_AUTHENTICATE
    if getattr(api_exc, "wait", None):
        headers["Retry-After"] = str(int(api_exc.wait))
    set_rollback()
    return Response(canvas_error_body(api_exc), status=api_exc.status_code, headers=headers)


def lti_error(exc: exceptions.APIException) -> tuple[int, str]:
    """Return the status and message Canvas' LTI services give for `exc`."""
    if isinstance(exc, exceptions.NotAuthenticated):
        return HTTPStatus.UNAUTHORIZED, LTI_MISSING_TOKEN_MESSAGE
    if isinstance(exc, exceptions.AuthenticationFailed):
        return HTTPStatus.UNAUTHORIZED, LTI_TOKEN_MESSAGES.get(
            exc.get_codes(), LTI_TOKEN_MESSAGES["invalid_token"]
        )
    if isinstance(exc, exceptions.PermissionDenied):
        # Canvas answers a token lacking the progress scope with 401, not 403.
        return HTTPStatus.UNAUTHORIZED, LTI_INSUFFICIENT_PERMISSIONS_MESSAGE
    if isinstance(exc, exceptions.NotFound):
        return HTTPStatus.NOT_FOUND, NOT_FOUND_MESSAGE
    return exc.status_code, " ".join(detail_messages(exc.detail))


def lti_exception_handler(exc: Exception, context: dict) -> Response | None:
    """Answer any client error of the LTI route in Canvas' LTI envelope."""
    api_exc = as_api_exception(exc)
    if api_exc is None:
        return None
    status, message = lti_error(api_exc)
    error_type = HTTPStatus(status).phrase.lower().replace(" ", "_")
    headers = {"WWW-Authenticate": WWW_AUTHENTICATE} if status == HTTPStatus.UNAUTHORIZED else {}
    set_rollback()
    return Response(
        {"errors": {"type": error_type, "message": message}}, status=status, headers=headers
    )
