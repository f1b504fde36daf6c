"""Google's JSON error envelope, produced here for every error of the LRO family.

Every error is `{"error": {"code": <HTTP status>, "message": ..., "status": <canonical code
name>, "details": []}}`, with the HTTP status that Google's HTTP mapping gives each
canonical code (google/rpc/code.proto), so `google-api-core` raises the matching exception
(`NotFound`, `InvalidArgument`, `PermissionDenied`, ...) from jobdesk's answers.
"""

from __future__ import annotations

from http import HTTPStatus

from django.conf import settings
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response

from jobs.errors import IdempotencyKeyConflict, ServiceUnavailable, StateConflict, respond
from jobs.parsers import BodyTooLarge

NOT_FOUND_MESSAGE = "Requested entity was not found."


class GoogleError(exceptions.APIException):
    """An error with its canonical code name; the detail is the message."""

    canonical: str

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_detail)


class InvalidArgument(GoogleError):
    status_code = HTTPStatus.BAD_REQUEST
    canonical = "INVALID_ARGUMENT"
    default_detail = "Request contains an invalid argument."


class NotFound(GoogleError):
    status_code = HTTPStatus.NOT_FOUND
    canonical = "NOT_FOUND"
    default_detail = NOT_FOUND_MESSAGE


TOKEN_PROBLEMS = {
    "invalid_token": "the API token is unknown or malformed.",
    "expired_token": "the API token has expired.",
    "revoked_token": "the API token has been revoked.",
}


def flatten(detail: object) -> str:
    """Return a DRF error detail (string, list or dict, nested) as one line of text."""
    if isinstance(detail, dict):
        return "; ".join(f"{key}: {flatten(value)}" for key, value in detail.items())
    if isinstance(detail, list | tuple):
        return " ".join(flatten(item) for item in detail)
    return str(detail)


def canonical(exc: exceptions.APIException, context: dict) -> tuple[int, str, str]:
    """Return the HTTP status, canonical code name and message of Google's answer to `exc`."""
    if isinstance(exc, GoogleError):
        return exc.status_code, exc.canonical, str(exc.detail)
    if isinstance(exc, exceptions.NotAuthenticated):
        return (
            401,
            "UNAUTHENTICATED",
            (
                "Request is missing required authentication credential: send an API token as "
                "`Authorization: Bearer <token>`."
            ),
        )
    if isinstance(exc, exceptions.AuthenticationFailed):
        problem = TOKEN_PROBLEMS.get(exc.get_codes(), flatten(exc.detail))
        return 401, "UNAUTHENTICATED", f"Request had invalid authentication credentials: {problem}"
    if isinstance(exc, exceptions.PermissionDenied):
        if str(exc.detail) != exceptions.PermissionDenied.default_detail:
            return 403, "PERMISSION_DENIED", str(exc.detail)  # e.g. a session's missing CSRF
        permission = getattr(context.get("view"), "required_permission", None)
        return 403, "PERMISSION_DENIED", f"Permission '{permission}' denied."
    if isinstance(exc, exceptions.NotFound):
        return 404, "NOT_FOUND", NOT_FOUND_MESSAGE
    if isinstance(exc, StateConflict):
        return 409, "ABORTED", flatten(exc.detail)
    if isinstance(exc, IdempotencyKeyConflict):
        return 409, "ALREADY_EXISTS", flatten(exc.detail)
    if isinstance(exc, BodyTooLarge):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return 400, "INVALID_ARGUMENT", f"Request payload size exceeds the limit: {limit} bytes."
    if isinstance(exc, exceptions.MethodNotAllowed):
        return 405, "UNIMPLEMENTED", flatten(exc.detail)
    if isinstance(exc, exceptions.Throttled):
        return 429, "RESOURCE_EXHAUSTED", flatten(exc.detail)
    if isinstance(exc, ServiceUnavailable):
        return 503, "UNAVAILABLE", flatten(exc.detail)
    if exc.status_code >= HTTPStatus.INTERNAL_SERVER_ERROR:
        return 500, "INTERNAL", "Internal error encountered."
    return 400, "INVALID_ARGUMENT", flatten(exc.detail)


def error_body(code: int, status: str, message: str) -> dict:
    """Return Google's JSON error body (key order: code, message, status, details)."""
    return {"error": {"code": code, "message": message, "status": status, "details": []}}


def google_envelope(exc: exceptions.APIException, context: dict) -> tuple[int, dict, dict]:
    """Return the status, body and headers of Google's answer to `exc`."""
    code, status, message = canonical(exc, context)
    return code, error_body(code, status, message), {}


def google_exception_handler(exc: Exception, context: dict) -> Response | None:
    """Answer every exception in Google's envelope; an unreachable database is UNAVAILABLE."""
    if isinstance(exc, Http404):
        exc = NotFound()
    return respond(exc, context, google_envelope, server_errors=True)
