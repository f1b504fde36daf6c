"""The Traffic Ops error envelope, `{"alerts": [{"text": ..., "level": "error"}]}`, in one place.

Every exception raised under this family's views becomes this envelope, with the texts the
original Traffic Ops server uses, so a Traffic Ops client reads jobdesk's errors unchanged.
"""

from __future__ import annotations

from http import HTTPStatus

from rest_framework import exceptions
from rest_framework.response import Response

from jobs.errors import respond

UNAUTHORIZED = "unauthorized, please log in."
NOT_FOUND = "Not Found"
VERSION_NOT_IMPLEMENTED = (
    "The requested api version is not implemented by this server. If you are using a newer "
    "client with an older server, you will need to use an older client version or upgrade "
    "your server."
)


def alerts(text: str, level: str = "error") -> dict:
    """Return a Traffic Ops alerts body with one alert (key order: text, level)."""
    return {"alerts": [{"text": text, "level": level}]}


class TrafficOpsError(exceptions.APIException):
    """An error whose alert text is exactly its detail."""

    def __init__(self, text: str | None = None) -> None:
        super().__init__(text or self.default_detail)


class BadIdParameter(TrafficOpsError):
    status_code = HTTPStatus.BAD_REQUEST
    default_detail = "getting integer parameters: parameter 'id' not an integer"


class BadRequest(TrafficOpsError):
    status_code = HTTPStatus.BAD_REQUEST
    default_detail = "bad request"


class InvalidCredentials(TrafficOpsError):
    status_code = HTTPStatus.UNAUTHORIZED
    default_detail = "Invalid username or password."


class CrossOriginLogin(TrafficOpsError):
    status_code = HTTPStatus.FORBIDDEN
    default_detail = "cross-origin login requests are refused."


class PathNotFound(TrafficOpsError):
    status_code = HTTPStatus.NOT_FOUND

    def __init__(self, path: str) -> None:
        super().__init__(f"The requested path '{path}' does not exist.")


class VersionNotImplemented(TrafficOpsError):
    status_code = HTTPStatus.NOT_IMPLEMENTED
    default_detail = VERSION_NOT_IMPLEMENTED


class TooManyLoginAttempts(TrafficOpsError):
    status_code = HTTPStatus.TOO_MANY_REQUESTS
    default_detail = "too many failed login attempts, try again later."

    def __init__(self, wait: int) -> None:
        super().__init__()
        # The exception handler turns `wait` into the Retry-After header.
        self.wait = wait


def validation_text(detail) -> str:
    """Flatten a ValidationError's detail into one sentence."""
    if isinstance(detail, dict):
        return "; ".join(f"{key}: {validation_text(value)}" for key, value in detail.items())
    if isinstance(detail, list):
        return "; ".join(validation_text(item) for item in detail)
    return str(detail)


def alert_text(exc: Exception, context: dict) -> str:
    """Return the Traffic Ops alert text for `exc`."""
    if isinstance(exc, TrafficOpsError):
        return str(exc.detail)
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        return UNAUTHORIZED
    if isinstance(exc, exceptions.PermissionDenied):
        permission = getattr(context.get("view"), "required_permission", None)
        return f"missing required Permissions: {permission}" if permission else "Forbidden."
    if isinstance(exc, exceptions.NotFound):
        return NOT_FOUND
    if isinstance(exc, exceptions.MethodNotAllowed):
        request = context["request"]
        return f"The requested method '{request.method}' is not allowed on '{request.path}'."
    if isinstance(exc, exceptions.ValidationError):
        return validation_text(exc.detail)
    return validation_text(getattr(exc, "detail", str(exc)))


def alerts_envelope(exc: exceptions.APIException, context: dict) -> tuple[int, dict, dict]:
    """Return the status, body and headers of Traffic Ops' answer to `exc`."""
    return exc.status_code, alerts(alert_text(exc, context)), {}


def alerts_exception_handler(exc: Exception, context: dict) -> Response | None:
    """Answer every exception, server errors included, with the Traffic Ops alerts envelope."""
    return respond(exc, context, alerts_envelope, server_errors=True)
