"""Canvas' error envelopes, produced here and nowhere else.

The REST routes answer `{"errors": [{"message": ...}]}` (plus `"status"` for 401/403, as
Canvas' `render_json_unauthorized` does); the LTI route answers
`{"errors": {"type": ..., "message": ...}}` as Canvas' LTI Advantage services do.
"""

from __future__ import annotations

from http import HTTPStatus

from rest_framework import exceptions
from rest_framework.response import Response

from jobs.errors import respond, status_phrase

UNAUTHENTICATED_HEADERS = {"WWW-Authenticate": 'Bearer realm="canvas-lms"'}
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


def canvas_envelope(exc: exceptions.APIException, context: dict) -> tuple[int, dict, dict]:
    """Return the status, body and headers of Canvas' REST answer to `exc`."""
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        return HTTPStatus.UNAUTHORIZED, canvas_error_body(exc), UNAUTHENTICATED_HEADERS
    return exc.status_code, canvas_error_body(exc), {}


def canvas_exception_handler(exc: Exception, context: dict) -> Response | None:
    """Answer any client error of the REST routes in Canvas' envelope."""
    return respond(exc, context, canvas_envelope)


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


def lti_envelope(exc: exceptions.APIException, context: dict) -> tuple[int, dict, dict]:
    """Return the status, body and headers of Canvas' LTI answer to `exc`."""
    status, message = lti_error(exc)
    error_type = status_phrase(status).lower().replace(" ", "_")
    headers = UNAUTHENTICATED_HEADERS if status == HTTPStatus.UNAUTHORIZED else {}
    return status, {"errors": {"type": error_type, "message": message}}, headers


def lti_exception_handler(exc: Exception, context: dict) -> Response | None:
    """Answer any client error of the LTI route in Canvas' LTI envelope."""
    return respond(exc, context, lti_envelope)
