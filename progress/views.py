"""Canvas' Progress API: list and create, show and report, cancel, and the LTI show.

Order of checks everywhere: authenticate (401), hold the permission the method needs in some
tenant (403: `PROGRESS:READ` to read, `PROGRESS:WRITE` for a producer's POST and PUT), find
the job among the tenants where it is held (404: another tenant's job does not exist). A
change the job's state does not allow (completing a cancelled job) is a 409 naming that state.
"""

from __future__ import annotations

from http import HTTPStatus

from django.http import HttpResponse
from django.urls import get_script_prefix
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.mixins import ListModelMixin
from rest_framework.negotiation import BaseContentNegotiation, DefaultContentNegotiation
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs.api import FamilyAPIMixin, create_once, parse_id
from jobs.parsers import BoundedFormParser, BoundedJSONParser, BoundedMultiPartParser
from jobs.polling import CachedPollMixin
from jobs.snapshots import Snapshot
from progress.errors import canvas_exception_handler, lti_exception_handler
from progress.family import (
    LTI_PROGRESS_SHOW_SCOPE,
    PROGRESS_CANCEL,
    PROGRESS_READ,
    PROGRESS_WRITE,
    family,
)
from progress.filters import ProgressFilter
from progress.models import Progress
from progress.pagination import CanvasPagination
from progress.schema import (
    progress_cancel_schema,
    progress_create_schema,
    progress_list_schema,
    progress_lti_retrieve_schema,
    progress_report_schema,
    progress_retrieve_schema,
)
from progress.serializers import (
    LtiProgressSerializer,
    ProgressCreateSerializer,
    ProgressSerializer,
    ProgressUpdateSerializer,
    for_request,
    wants_string_ids,
)
from progress.services import (
    InvalidCompletion,
    progress_cancel,
    progress_create,
    progress_report,
)
from tenancy.access import principal_for
from tenancy.authentication import (
    AccessTokenParameterAuthentication,
    BearerTokenAuthentication,
    XAuthTokenAuthentication,
)


def job_id(raw: str) -> int:
    """Return `raw` as a job id, or raise NotFound: junk ids name no resource, as in Canvas."""
    pk = parse_id(raw)
    if pk is None:
        raise NotFound()
    return pk


class StringIdsJSONRenderer(JSONRenderer):
    """The JSON of a client that asked for Canvas' string ids: typed as Canvas types it."""

    charset = "utf-8"


class CanvasContentNegotiation(BaseContentNegotiation):
    """Answer JSON whatever `Accept` says, as Canvas' `render json:` does (no 406).

    `Accept` only chooses Canvas' string-ids variant (`wants_string_ids`), which Canvas still
    sends as `application/json; charset=utf-8`.
    """

    def select_parser(self, request, parsers):
        return DefaultContentNegotiation().select_parser(request, parsers)

    def select_renderer(self, request, renderers, format_suffix=None):
        string_ids = wants_string_ids(request)
        renderer = next(r for r in renderers if isinstance(r, StringIdsJSONRenderer) == string_ids)
        return renderer, renderer.media_type


# Canvas reads a token from `Authorization: Bearer`, else from the `access_token` parameter.
CANVAS_AUTHENTICATION = [
    BearerTokenAuthentication,
    XAuthTokenAuthentication,
    AccessTokenParameterAuthentication,
    SessionAuthentication,
]


class CanvasView(FamilyAPIMixin, GenericAPIView):
    """Base of the REST routes: Canvas' envelope for every error, jobs scoped by tenant."""

    family = family
    serializer_class = ProgressSerializer
    authentication_classes = CANVAS_AUTHENTICATION
    renderer_classes = [JSONRenderer, StringIdsJSONRenderer]
    content_negotiation_class = CanvasContentNegotiation

    def get_exception_handler(self):
        return canvas_exception_handler

    def get_object(self) -> Progress:
        """Return the visible job named in the URL, or raise NotFound."""
        progress = self.get_queryset().filter(pk=job_id(self.kwargs["pk"])).first()
        if progress is None:
            raise NotFound()
        return progress


class ProgressCollectionView(ListModelMixin, CanvasView):
    """`GET /api/v1/progress` lists; `POST` records a new queued job (a producer's create)."""

    filterset_class = ProgressFilter
    pagination_class = CanvasPagination

    def get_queryset(self):
        return super().get_queryset().newest_first()

    @progress_list_schema
    def get(self, request: Request, *args, **kwargs) -> Response:
        return self.list(request, *args, **kwargs)

    @progress_create_schema
    def post(self, request: Request, *args, **kwargs) -> Response:
        body = ProgressCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        progress = create_once(
            request,
            family,
            lambda tenant: progress_create(tenant=tenant, user=request.user, **body.validated_data),
            fingerprint=body.validated_data,
        )
        return Response(self.get_serializer(progress).data, status=HTTPStatus.CREATED)


class ProgressDetailView(CachedPollMixin, CanvasView):
    """`GET /api/v1/progress/:id`: completion and status of one job (the poll hot path)."""

    def poll_key(self) -> int:
        return job_id(self.kwargs["pk"])

    def poll_data(self, snapshot: Snapshot, request) -> dict:
        # The snapshot's url is relative: the prefix (SCRIPT_NAME) is this request's.
        return for_request(snapshot.data, request, get_script_prefix() + snapshot.data["url"])

    def poll_variant(self, request) -> tuple:
        """The body's url names this request's scheme, host and prefix; ids may be strings."""
        return (request.scheme, request.get_host(), get_script_prefix(), wants_string_ids(request))

    @progress_retrieve_schema
    def get(self, request: Request, *args, **kwargs) -> HttpResponse:
        return self.poll(request)


class ProgressResourceView(ProgressDetailView):
    """`GET /api/v1/progress/:id` shows; `PUT` reports a job's progress or finishes it."""

    @progress_report_schema
    def put(self, request: Request, *args, **kwargs) -> Response:
        progress = self.get_object()
        body = ProgressUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            progress_report(progress, **body.validated_data)
        except InvalidCompletion as error:
            raise ValidationError({"completion": str(error)}) from None
        return Response(self.get_serializer(progress).data)


class ProgressCancelView(CanvasView):
    """`POST /api/v1/progress/:id/cancel`: a pending job becomes failed with `message`."""

    # READ finds the job; its creator, or a holder of PROGRESS:CANCEL, may then cancel it.
    permission_map = {}
    parser_classes = [BoundedJSONParser, BoundedFormParser, BoundedMultiPartParser]

    @progress_cancel_schema
    def post(self, request: Request, *args, **kwargs) -> Response:
        progress = self.get_object()
        self.check_may_cancel(progress)
        progress_cancel(progress, actor=request.user, message=self.cancel_message())
        return Response(self.get_serializer(progress).data)

    def check_may_cancel(self, progress: Progress) -> None:
        """Allow the job's creator (unless scoped to neither write nor cancel), or a holder of
        `PROGRESS:CANCEL` in its tenant."""
        principal = principal_for(self.request)
        is_creator = progress.user_id is not None and progress.user_id == principal.user.pk
        as_creator = is_creator and not principal.scoped_out_of(PROGRESS_WRITE, PROGRESS_CANCEL)
        if not (as_creator or principal.holds(PROGRESS_CANCEL, progress.tenant_id)):
            raise PermissionDenied()

    def cancel_message(self) -> str | None:
        """Return `message` from the form or JSON body (or the query string, as Rails merges)."""
        data = self.request.data
        if not hasattr(data, "get"):
            raise ValidationError("The request body must be a JSON object or a form.")
        message = data.get("message", self.request.query_params.get("message"))
        if message is not None and not isinstance(message, str):
            raise ValidationError({"message": "Must be a string."})
        return message


class MayShowLtiProgress(BasePermission):
    """Allow tokens carrying the LTI progress scope and holding `PROGRESS:READ`."""

    def has_permission(self, request, view) -> bool:
        principal = principal_for(request)
        return principal.has_token_scope(LTI_PROGRESS_SHOW_SCOPE) and principal.holds_anywhere(
            PROGRESS_READ
        )


class LtiProgressView(ProgressDetailView):
    """`GET /api/lti/courses/:course_id/progress/:id`: a job of that course, for an LTI tool."""

    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [IsAuthenticated, MayShowLtiProgress]
    serializer_class = LtiProgressSerializer

    def get_exception_handler(self):
        return lti_exception_handler

    def get_queryset(self):
        return super().get_queryset().filter(course_id=job_id(self.kwargs["course_id"]))

    def poll_key(self) -> int:
        job_id(self.kwargs["course_id"])
        return super().poll_key()

    def poll_permitted(self, principal) -> bool:
        return principal.has_token_scope(LTI_PROGRESS_SHOW_SCOPE) and super().poll_permitted(
            principal
        )

    def poll_matches(self, snapshot: Snapshot, principal) -> bool:
        return snapshot.scope.course_id == job_id(
            self.kwargs["course_id"]
        ) and super().poll_matches(snapshot, principal)

    def poll_data(self, snapshot: Snapshot, request) -> dict:
        return for_request(snapshot.data, request, get_script_prefix() + snapshot.scope.lti_path)

    @progress_lti_retrieve_schema
    def get(self, request: Request, *args, **kwargs) -> HttpResponse:
        return self.poll(request)


class UnknownRouteView(APIView):
    """Any other URL under Canvas' prefixes: a 404 in Canvas' envelope, not an HTML page."""

    authentication_classes = []
    permission_classes = []
    content_negotiation_class = CanvasContentNegotiation
    renderer_classes = [JSONRenderer, StringIdsJSONRenderer]
    exception_handler = staticmethod(canvas_exception_handler)

    def get_exception_handler(self):
        return self.exception_handler

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        raise NotFound()

    def http_method_not_allowed(self, request, *args, **kwargs):
        raise NotFound()


class UnknownLtiRouteView(UnknownRouteView):
    """Any other URL under `/api/lti/`: a 404 in the LTI envelope."""

    exception_handler = staticmethod(lti_exception_handler)
