"""Google long-running operations under `/v1/projects/{project}/operations`, as the
`google.longrunning.Operations` service maps onto HTTP (`{name=projects/*/operations/*}`).

Reads: GetOperation (with every family's `?wait=`), ListOperations (filter `done`, page
tokens), WaitOperation (`:wait`, on the same change notifications).
Clients also cancel (`:cancel`, best effort) and delete. Producers create (`POST` on the
collection) and report or finish (`PATCH` on the operation): jobdesk's own routes.

Order of checks: authenticate (401 UNAUTHENTICATED), hold the permission the method needs
somewhere (403 PERMISSION_DENIED), well-formed path and query parameters and body (400
INVALID_ARGUMENT), then the operation inside the tenants where the permission is held, by
its project and id (404 NOT_FOUND: another tenant's operation answers like a missing one).
"""

from __future__ import annotations

import re
from typing import ClassVar

from django.db import transaction
from django.http import HttpResponse
from rest_framework.generics import GenericAPIView
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs.api import FamilyAPIMixin, PrivateResponsesMixin, create_once, parse_id
from jobs.models import JobQuerySet
from jobs.parsers import BoundedJSONParser
from jobs.polling import MAX_WAIT_SECONDS, WAIT_ATTRIBUTE, CachedPollMixin, PollWait
from lro import schema
from lro.errors import InvalidArgument, NotFound, google_exception_handler
from lro.family import family
from lro.filters import listing, page_token
from lro.models import Operation, operation_name
from lro.serializers import OperationSerializer
from lro.services import (
    InvalidPayload,
    operation_cancel,
    operation_create,
    operation_delete,
    operation_fail,
    operation_finish,
    operation_update,
)
from tenancy.access import principal_for
from tenancy.models import Tenant, project_id_validator

PROJECT_ID = re.compile(project_id_validator.regex.pattern)
# A google.protobuf.Duration in JSON: seconds with up to nine decimals, then `s`.
DURATION = re.compile(r"([0-9]{1,12})(?:\.([0-9]{1,9}))?s")
# Query parameters every Google API takes: the response format (JSON is the only one here).
SYSTEM_PARAMETERS = frozenset({"$alt", "alt"})


class AlwaysJSON(BaseContentNegotiation):
    """Answer JSON whatever `Accept` says and read bodies as JSON, as Google's APIs do."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def body_object(request: Request, allowed: frozenset[str]) -> dict:
    """Return the JSON body (empty: `{}`) holding only `allowed` keys, or INVALID_ARGUMENT."""
    data = request.data
    if not isinstance(data, dict):
        raise InvalidArgument("Invalid JSON payload received: the body must be a JSON object.")
    if unknown := sorted(set(data) - allowed):
        raise InvalidArgument(f"Invalid JSON payload received. Unknown name {unknown[0]!r}.")
    return dict(data)


class OperationsView(FamilyAPIMixin, GenericAPIView):
    """Base of every LRO view: JSON always, errors in Google's envelope, path checks."""

    family = family
    renderer_classes = [JSONRenderer]
    parser_classes = [BoundedJSONParser]
    content_negotiation_class = AlwaysJSON
    filter_backends = []
    pagination_class = None
    serializer_class = OperationSerializer
    # Query parameters the view reads, besides the system ones.
    query_parameters: ClassVar[frozenset[str]] = frozenset()

    def get_exception_handler(self):
        return google_exception_handler

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        self.check_query_parameters(request)
        self.project_id()

    def check_query_parameters(self, request: Request) -> None:
        unknown = set(request.query_params) - self.query_parameters - SYSTEM_PARAMETERS
        if unknown:
            raise InvalidArgument(f"Unknown query parameter {sorted(unknown)[0]!r}.")
        for name in SYSTEM_PARAMETERS & set(request.query_params):
            if not request.query_params[name].startswith("json"):
                raise InvalidArgument(f"Unsupported {name}: jobdesk answers JSON only.")

    def project_id(self) -> str:
        """Return the path's project id, or raise INVALID_ARGUMENT."""
        project = self.kwargs["project"]
        if not PROJECT_ID.fullmatch(project):
            raise InvalidArgument(
                f"Invalid resource name: project {project[:100]!r} must be 1 to 64 letters, "
                "digits, '-' or '_'."
            )
        return project

    def operation_id(self) -> int:
        """Return the path's operation id, or raise INVALID_ARGUMENT."""
        raw = self.kwargs["operation"]
        operation_id = parse_id(raw)
        if operation_id is None:
            raise InvalidArgument(
                f"Invalid resource name: operation id {raw[:100]!r} must be a positive integer."
            )
        return operation_id

    def operations(self) -> JobQuerySet:
        """Return the path project's operations where the request's permission is held."""
        return (
            self.permitted_jobs()
            .filter(tenant__project_id=self.project_id())
            .select_related("tenant")
        )

    def get_object(self) -> Operation:
        """Return the path's operation, or raise NOT_FOUND."""
        op = self.operations().filter(pk=self.operation_id()).first()
        if op is None:
            raise NotFound(f"Operation {self.path_name()} not found.")
        return op

    def path_name(self) -> str:
        return operation_name(self.kwargs["project"], self.kwargs["operation"])

    def check_name(self, body: dict) -> None:
        """Refuse a body whose `name` is not the path's (the path is what counts)."""
        if "name" in body and body["name"] != self.path_name():
            raise InvalidArgument("The body's name must be the operation's name in the path.")

    def project_tenant(self) -> Tenant:
        """Return the path project's tenant if the request's permission is held there."""
        project, principal = self.project_id(), principal_for(self.request)
        if principal.token is not None:
            # The token's tenant came with the token: no query, and no other project.
            tenant = principal.token.tenant
            tenant = tenant if tenant.project_id == project else None
        else:
            tenant = Tenant.objects.filter(project_id=project, is_active=True).first()
        if tenant is None or not principal.holds(self.required_permission, tenant):
            raise NotFound(f"Project {project} not found.")
        return tenant


class OperationCollectionView(OperationsView):
    """`GET` lists a project's operations (ListOperations); `POST` creates one (producers)."""

    http_method_names = ["get", "head", "post"]
    query_parameters = frozenset({"filter", "pageSize", "pageToken", "returnPartialSuccess"})

    def check_query_parameters(self, request: Request) -> None:
        super().check_query_parameters(request)
        if request.method == "POST" and request.query_params:
            raise InvalidArgument("Creating an operation takes no query parameters.")

    @schema.list_schema
    def get(self, request: Request, project: str) -> Response:
        tenant = self.project_tenant()
        call = listing(request.query_params, tenant.pk)
        page, after = call.page(
            self.permitted_jobs().filter(tenant=tenant).select_related("tenant")
        )
        next_token = "" if after is None else page_token(tenant.pk, call.filter_text, after)
        return Response(
            {
                "operations": [OperationSerializer(op).data for op in page],
                "nextPageToken": next_token,
            }
        )

    @schema.create_schema
    def post(self, request: Request, project: str) -> Response:
        metadata = body_object(request, frozenset({"metadata"})).get("metadata", {})
        tenant = self.project_tenant()
        try:
            op = create_once(
                request,
                family,
                lambda _: operation_create(tenant=tenant, user=request.user, metadata=metadata),
                fingerprint=(tenant.project_id, metadata),
                tenant=tenant,
            )
        except InvalidPayload as error:
            raise InvalidArgument(str(error)) from None
        return Response(self.get_serializer(op).data)


class OperationPollMixin(CachedPollMixin):
    """An operation read as a poll: from its cached snapshot, under its project's name."""

    watch_id_kwarg = "operation"

    def poll_key(self) -> int:
        self.project_id()
        return self.operation_id()

    def watch_key(self, raw_id: str) -> int:
        """Return the operation id an event stream names (`lro:<id>`)."""
        self.kwargs = {"operation": raw_id}
        return self.operation_id()

    def poll_matches(self, snapshot, principal) -> bool:
        return snapshot.scope == self.kwargs["project"] and super().poll_matches(
            snapshot, principal
        )


class OperationResourceView(OperationPollMixin, OperationsView):
    """`GET` (GetOperation), `DELETE` (DeleteOperation), `PATCH` (a producer's report)."""

    http_method_names = ["get", "head", "delete", "patch"]
    permission_map: ClassVar[dict[str, str]] = {"DELETE": "cancel", "PATCH": "write"}
    # `?wait=` with `If-None-Match` holds the read until the operation changes (polling.md).
    query_parameters = frozenset({"wait"})

    def check_query_parameters(self, request: Request) -> None:
        super().check_query_parameters(request)
        if request.method != "GET" and request.query_params:
            raise InvalidArgument(f"{request.method} takes no query parameters.")

    def fast_poll(self, request) -> HttpResponse | None:
        # Other query parameters are checked by the full path, which decides every error.
        if set(request.GET) - self.query_parameters:
            return None
        return super().fast_poll(request)

    @schema.get_schema
    def get(self, request: Request, project: str, operation: str) -> HttpResponse:
        return self.poll(request)

    @schema.delete_schema
    def delete(self, request: Request, project: str, operation: str) -> Response:
        operation_delete(self.get_object())
        return Response({})

    @schema.report_schema
    def patch(self, request: Request, project: str, operation: str) -> Response:
        body = body_object(request, frozenset({"metadata", "response", "error"}))
        if not body:
            raise InvalidArgument("Give metadata, and response or error to finish.")
        if "response" in body and "error" in body:
            raise InvalidArgument("An operation ends with a response or an error, not both.")
        op = self.get_object()
        try:
            with transaction.atomic():
                self.report(op, **body)
        except InvalidPayload as error:
            raise InvalidArgument(str(error)) from None
        return Response(self.get_serializer(op).data)

    def report(self, op: Operation, *, metadata=None, response=None, error=None) -> None:
        """Replace the metadata, then finish the operation if the body says how."""
        if metadata is not None:
            operation_update(op, metadata=metadata)
        if response is not None:
            operation_finish(op, response=response)
        elif error is not None:
            if not isinstance(error, dict) or set(error) - {"code", "message", "details"}:
                raise InvalidPayload("error must be a google.rpc.Status: {code, message}.")
            operation_fail(op, code=error.get("code"), message=error.get("message", ""))


class OperationCancelView(OperationsView):
    """`POST ...:cancel` (CancelOperation): best effort; a running operation ends CANCELLED."""

    http_method_names = ["post"]
    permission_map: ClassVar[dict[str, str]] = {"POST": "cancel"}

    @schema.cancel_schema
    def post(self, request: Request, project: str, operation: str) -> Response:
        self.check_name(body_object(request, frozenset({"name"})))
        operation_cancel(self.get_object(), actor=request.user)
        return Response({})


def parse_timeout(raw: object) -> float:
    """Return a WaitOperation `timeout` (a Duration in JSON) in seconds, at most the maximum."""
    if raw is None:
        return MAX_WAIT_SECONDS
    match = DURATION.fullmatch(raw) if isinstance(raw, str) else None
    if match is None:
        raise InvalidArgument(
            'Invalid timeout: give a google.protobuf.Duration in JSON, such as "30s" or "0.5s".'
        )
    whole, fraction = match.groups()
    return min(int(whole) + float(f"0.{fraction or 0}"), MAX_WAIT_SECONDS)


class OperationWaitView(OperationPollMixin, OperationsView):
    """`POST ...:wait` (WaitOperation): the operation as soon as it is done, or at `timeout`.

    The answer waits the way every family's `?wait=` read does: this view answers with the
    operation and, while it is running, a `PollWait`; `jobs.middleware.PollWaitMiddleware`
    holds the answer until the operation changes (`jobs.watch`), then asks the view again,
    until it is done or the time is up. Nothing is queried while it waits.
    """

    http_method_names = ["post"]
    permission_map: ClassVar[dict[str, str]] = {"POST": "read"}

    @schema.wait_schema
    def post(self, request: Request, project: str, operation: str) -> Response:
        body = body_object(request, frozenset({"name", "timeout"}))
        self.check_name(body)
        seconds = parse_timeout(body.get("timeout"))
        pk, snapshot = self.poll_snapshot(request)
        response = Response(snapshot.data)
        if not snapshot.data["done"] and seconds > 0 and snapshot.version is not None:
            wait = PollWait(family.name, str(pk), snapshot.version, seconds)
            setattr(response, WAIT_ATTRIBUTE, wait)
        return response


class UnknownURLView(PrivateResponsesMixin, APIView):
    """Answer any other URL under /v1/ with NOT_FOUND in Google's envelope."""

    authentication_classes = []
    permission_classes = []
    renderer_classes = [JSONRenderer]
    content_negotiation_class = AlwaysJSON
    schema = None

    def get_exception_handler(self):
        return google_exception_handler

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        raise NotFound(f"No API at {request.method} {request.path}.")
