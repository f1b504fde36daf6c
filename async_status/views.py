"""Traffic Ops async status API: read and list jobs, producers' create and report, log in and
out, route errors.

Checks run in Traffic Ops' order: route (unknown version 501, unknown path 404, wrong method
405), then authentication (401), then the family permission (403: `ASYNC-STATUS:READ` to
read, `ASYNC-STATUS:WRITE` for a producer's POST and PUT), then parameters (400), then the
lookup inside the permitted tenants (404).

A create answers like Traffic Ops' own async endpoints: 202, a success alert, and a
`Location` header at `/api/4.0/async_status/<id>` (Traffic Ops always names 4.0 there).
"""

from __future__ import annotations

import json
import re
from http import HTTPStatus

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.generics import GenericAPIView
from rest_framework.mixins import ListModelMixin
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from async_status.errors import (
    BadIdParameter,
    BadRequest,
    CrossOriginLogin,
    InvalidCredentials,
    PathNotFound,
    TooManyLoginAttempts,
    VersionNotImplemented,
    alerts,
    alerts_exception_handler,
)
from async_status.family import family
from async_status.filters import AsyncStatusFilter, TrafficOpsFilterBackend, TrafficOpsPagination
from async_status.models import AsyncStatus
from async_status.schema import (
    create_schema,
    detail_schema,
    list_schema,
    login_schema,
    logout_schema,
    report_schema,
)
from async_status.serializers import (
    AsyncStatusCreateSerializer,
    AsyncStatusReportSerializer,
    AsyncStatusSerializer,
)
from async_status.services import async_status_create, async_status_finish, async_status_update
from async_status.throttling import LoginGuard
from jobs.api import FamilyAPIMixin, create_once
from jobs.parsers import BodyTooLarge
from jobs.polling import CachedPollMixin
from tenancy import outage

SERVED_VERSIONS = frozenset({"4.0", "4.1", "5.0"})
# Traffic Ops serves the list from 5.0 on; older versions have no such route.
LIST_VERSION = "5.0"
# Go's strconv.Atoi: optional sign, ASCII digits, any number of leading zeros, 64 bits.
INTEGER = re.compile(r"[+-]?[0-9]+")
INT64_DIGITS = 19
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def parse_id(raw: str) -> int:
    """Parse a path id the way Traffic Ops does, or raise its 400."""
    if not INTEGER.fullmatch(raw) or len(raw.lstrip("+-").lstrip("0")) > INT64_DIGITS:
        raise BadIdParameter()
    value = int(raw)
    if not INT64_MIN <= value <= INT64_MAX:
        raise BadIdParameter()
    return value


class AlwaysJSON(BaseContentNegotiation):
    """Answer JSON whatever the Accept header says, and read bodies as JSON, as Traffic Ops."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class TrafficOpsView(GenericAPIView):
    """Base of every view under /api/<version>/: JSON always, errors as Traffic Ops alerts."""

    renderer_classes = [JSONRenderer]
    content_negotiation_class = AlwaysJSON
    filter_backends = []
    pagination_class = None

    def get_exception_handler(self):
        return alerts_exception_handler

    def initial(self, request: Request, *args, **kwargs) -> None:
        # A wrong method is a routing error: answer it before asking for credentials.
        if request.method.lower() not in self.http_method_names:
            raise MethodNotAllowed(request.method)
        super().initial(request, *args, **kwargs)


class AsyncStatusView(FamilyAPIMixin, TrafficOpsView):
    """Async statuses, scoped to the tenants where the principal holds what the method needs."""

    family = family
    serializer_class = AsyncStatusSerializer


def status_path(job: AsyncStatus) -> str:
    """Return where a job's status is polled, as Traffic Ops' producers write it."""
    return f"/api/4.0/async_status/{job.pk}"


def validated(serializer_class, request: Request) -> dict:
    """Return the request body validated by `serializer_class`, or raise a 400 alert."""
    body = serializer_class(data=request.data)
    body.is_valid(raise_exception=True)
    return body.validated_data


class AsyncStatusCollectionView(ListModelMixin, AsyncStatusView):
    """`GET /api/5.0/async_status` lists; `POST /api/<v>/async_status` records a PENDING job."""

    http_method_names = ["get", "head", "post"]
    filter_backends = [TrafficOpsFilterBackend]
    filterset_class = AsyncStatusFilter
    pagination_class = TrafficOpsPagination

    def initial(self, request: Request, *args, version: str, **kwargs) -> None:
        if request.method in ("GET", "HEAD") and version != LIST_VERSION:
            raise PathNotFound(request.path)
        super().initial(request, *args, version=version, **kwargs)

    def get_queryset(self):
        return super().get_queryset().newest_first()

    @list_schema
    def get(self, request: Request, version: str) -> Response:
        return self.list(request)

    @create_schema
    def post(self, request: Request, version: str) -> Response:
        data = validated(AsyncStatusCreateSerializer, request)
        job = create_once(
            request,
            family,
            lambda tenant: async_status_create(tenant=tenant, user=request.user, **data),
            fingerprint=data,
        )
        text = f"Async job started. Status updates can be found here: {status_path(job)}"
        return Response(
            alerts(text, "success"),
            status=HTTPStatus.ACCEPTED,
            headers={"Location": status_path(job)},
        )


class AsyncStatusResourceView(CachedPollMixin, AsyncStatusView):
    """`GET` shows one job; `PUT` reports its message or finishes it (SUCCEEDED or FAILED)."""

    http_method_names = ["get", "head", "put"]
    watch_id_kwarg = "job_id"

    def poll_key(self) -> int:
        return parse_id(self.kwargs["job_id"])

    def poll_object(self) -> AsyncStatus:
        return get_object_or_404(self.get_queryset(), pk=self.poll_key())

    @detail_schema
    def get(self, request: Request, version: str, job_id: str) -> HttpResponse:
        return self.poll(request)

    @report_schema
    def put(self, request: Request, version: str, job_id: str) -> Response:
        job = get_object_or_404(self.get_queryset(), pk=parse_id(job_id))
        data = validated(AsyncStatusReportSerializer, request)
        if data["status"] == AsyncStatus.State.PENDING:
            async_status_update(job, message=data["message"])
        else:
            succeeded = data["status"] == AsyncStatus.State.SUCCEEDED
            async_status_finish(job, succeeded=succeeded, message=data["message"])
        body = alerts(f"async status {job.pk} updated.", "success")
        return Response({**body, "response": self.get_serializer(job).data})


def read_json_object(request: Request) -> dict:
    """Return the request body as a JSON object, whatever its Content-Type."""
    try:
        body = json.loads(request.body)
    except RequestDataTooBig:
        raise BodyTooLarge() from None
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"the login request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest('the login request body must be a JSON object: {"u": ..., "p": ...}')
    return body


def is_clean_text(value: str) -> bool:
    """Return True for text a database column can store: UTF-8 encodable, no NUL."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in value


def read_credentials(request: Request) -> tuple[str, str]:
    """Return the login body's `u` and `p`, or raise a 400 saying what is wrong."""
    body = read_json_object(request)
    username, password = body.get("u"), body.get("p")
    if not username or not password:
        raise BadRequest("username and password are required")
    if not isinstance(username, str) or not isinstance(password, str):
        raise BadRequest("username and password must be strings")
    if not (is_clean_text(username) and is_clean_text(password)):
        raise BadRequest("username and password must be valid text without NUL characters")
    return username, password


def is_cross_origin(request: Request) -> bool:
    """Return True for a browser request sent from another site's page (login CSRF)."""
    origin = request.META.get("HTTP_ORIGIN")
    if origin is None:
        return False
    own = f"{request.scheme}://{request.get_host()}"
    return origin != own and origin not in settings.CSRF_TRUSTED_ORIGINS


class LoginView(TrafficOpsView):
    """`POST /api/<version>/user/login` with `{"u": ..., "p": ...}`: a session cookie."""

    # Traffic Ops clients send no CSRF token; docs/api/async_status.md says why this is safe.
    authentication_classes = []
    permission_classes = [AllowAny]
    http_method_names = ["post"]

    @login_schema
    def post(self, request: Request, version: str) -> Response:
        if is_cross_origin(request):
            raise CrossOriginLogin()
        username, password = read_credentials(request)
        guard = LoginGuard(username, request.META.get("REMOTE_ADDR", ""))
        wait = guard.attempt()
        if wait is not None:
            raise TooManyLoginAttempts(wait)
        try:
            user = authenticate(request._request, username=username, password=password)
        except outage.OUTAGE_ERRORS:
            guard.refund()
            raise
        if user is None:
            raise InvalidCredentials()
        guard.clear()
        login(request._request, user)
        return Response(alerts("Successfully logged in.", "success"))


class LogoutView(TrafficOpsView):
    """`POST /api/<version>/user/logout`: end the session (harmless without one)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    http_method_names = ["post"]

    @logout_schema
    def post(self, request: Request, version: str) -> Response:
        logout(request._request)
        return Response(alerts("You are logged out.", "success"))


class UnknownPathView(TrafficOpsView):
    """Everything else under /api/<number>/: 501 for a version not served, else 404."""

    authentication_classes = []
    permission_classes = []
    schema = None

    @property
    def default_response_headers(self) -> dict:
        headers = super().default_response_headers
        headers.pop("Allow", None)
        return headers

    def initial(self, request: Request, *args, version: str, **kwargs) -> None:
        if version not in SERVED_VERSIONS:
            raise VersionNotImplemented()
        raise PathNotFound(request.path)
