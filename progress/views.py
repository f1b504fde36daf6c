"""Canvas' Progress API: show, cancel, the LTI show, and a paginated list.

Order of checks everywhere: authenticate (401), hold `PROGRESS:READ` in some tenant (403),
find the job among the tenants where it is held (404: another tenant's job does not exist).
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from django.urls import get_script_prefix
from rest_framework import parsers
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.mixins import ListModelMixin
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from progress.errors import canvas_exception_handler, lti_exception_handler
from progress.filters import ProgressFilter
from progress.models import Progress
from progress.pagination import CanvasPagination
from progress.polling import snapshots
from progress.schema import (
    progress_cancel_schema,
    progress_list_schema,
    progress_lti_retrieve_schema,
    progress_retrieve_schema,
)
from progress.serializers import (
    STRING_IDS_MEDIA_TYPE,
    LtiProgressSerializer,
    ProgressSerializer,
    for_request,
    wants_string_ids,
)
from progress.services import progress_cancel
from tenancy.access import principal_for
from tenancy.authentication import BearerTokenAuthentication
from tenancy.drf import BodyTooLarge, BoundedFormParser, BoundedJSONParser, HoldsFamilyPermission
from tenancy.permissions import Perm
from tenancy.polling import CachedPollMixin, PrivateResponsesMixin, Snapshot

# Primary keys are positive bigints: at most 19 digits, at most 2**63 - 1.
ID_PATTERN = re.compile(r"[0-9]{1,19}")
MAX_ID = 2**63 - 1


def parse_id(raw: str) -> int:
    """Return `raw` as a row id, or raise NotFound: junk ids name no resource, as in Canvas."""
    if not ID_PATTERN.fullmatch(raw) or not 0 < int(raw) <= MAX_ID:
        raise NotFound()
    return int(raw)


class BoundedMultiPartParser(parsers.MultiPartParser):
    """Multipart form bodies, refused with 413 past `DATA_UPLOAD_MAX_MEMORY_SIZE`."""

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        declared = getattr(request, "META", {}).get("CONTENT_LENGTH") or ""
        if declared.isdigit() and int(declared) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise BodyTooLarge()
        try:
            return super().parse(stream, media_type, parser_context)
        except RequestDataTooBig:
            raise BodyTooLarge() from None


class StringIdsJSONRenderer(JSONRenderer):
    """JSON for clients whose `Accept` names only Canvas' string-ids media type."""

    media_type = STRING_IDS_MEDIA_TYPE


class CanvasView(PrivateResponsesMixin, GenericAPIView):
    """Base of the REST routes: Canvas' envelope for every error, jobs scoped by tenant."""

    permission_classes = [IsAuthenticated, HoldsFamilyPermission]
    required_permission = Perm.PROGRESS_READ
    serializer_class = ProgressSerializer
    renderer_classes = [JSONRenderer, StringIdsJSONRenderer]

    def get_exception_handler(self):
        return canvas_exception_handler

    def get_queryset(self):
        principal = principal_for(self.request)
        return Progress.objects.visible_to(principal, Perm.PROGRESS_READ)

    def get_object(self) -> Progress:
        """Return the visible job named in the URL, or raise NotFound."""
        progress = self.get_queryset().filter(pk=parse_id(self.kwargs["pk"])).first()
        if progress is None:
            raise NotFound()
        return progress


class ProgressDetailView(CachedPollMixin, CanvasView):
    """`GET /api/v1/progress/:id`: completion and status of one job (the poll hot path)."""

    snapshots = snapshots

    def poll_key(self) -> int:
        return parse_id(self.kwargs["pk"])

    def poll_data(self, snapshot: Snapshot, request) -> dict:
        # The snapshot's url is relative: the prefix (SCRIPT_NAME) is this request's.
        return for_request(snapshot.data, request, get_script_prefix() + snapshot.data["url"])

    def poll_variant(self, request) -> tuple:
        """The body's url names this request's scheme, host and prefix; ids may be strings."""
        return (request.scheme, request.get_host(), get_script_prefix(), wants_string_ids(request))

    @progress_retrieve_schema
    def get(self, request: Request, *args, **kwargs) -> HttpResponse:
        return self.poll(request)


class ProgressCancelView(CanvasView):
    """`POST /api/v1/progress/:id/cancel`: a pending job becomes failed with `message`."""

    parser_classes = [BoundedJSONParser, BoundedFormParser, BoundedMultiPartParser]

    @progress_cancel_schema
    def post(self, request: Request, *args, **kwargs) -> Response:
        progress = self.get_object()
        self.check_may_cancel(progress)
        progress_cancel(progress, actor=request.user, message=self.cancel_message())
        return Response(self.get_serializer(progress).data)

    def check_may_cancel(self, progress: Progress) -> None:
        """Allow the job's creator, or a holder of `PROGRESS:CANCEL` in its tenant."""
        principal = principal_for(self.request)
        is_creator = progress.user_id is not None and progress.user_id == principal.user.pk
        if not (is_creator or principal.holds(Perm.PROGRESS_CANCEL, progress.tenant_id)):
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


class ProgressListView(ListModelMixin, CanvasView):
    """`GET /api/v1/progress`: the visible jobs, newest first, paginated the Canvas way."""

    filterset_class = ProgressFilter
    pagination_class = CanvasPagination

    def get_queryset(self):
        return super().get_queryset().newest_first()

    @progress_list_schema
    def get(self, request: Request, *args, **kwargs) -> Response:
        return self.list(request, *args, **kwargs)


class MayShowLtiProgress(BasePermission):
    """Allow tokens carrying the LTI progress scope and holding `PROGRESS:READ`."""

    def has_permission(self, request, view) -> bool:
        principal = principal_for(request)
        return principal.may_show_lti_progress and principal.holds_anywhere(Perm.PROGRESS_READ)


class LtiProgressView(ProgressDetailView):
    """`GET /api/lti/courses/:course_id/progress/:id`: a job of that course, for an LTI tool."""

    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [IsAuthenticated, MayShowLtiProgress]
    serializer_class = LtiProgressSerializer

    def get_exception_handler(self):
        return lti_exception_handler

    def get_queryset(self):
        return super().get_queryset().filter(course_id=parse_id(self.kwargs["course_id"]))

    def poll_key(self) -> int:
        parse_id(self.kwargs["course_id"])
        return super().poll_key()

    def poll_permitted(self, principal) -> bool:
        return principal.may_show_lti_progress and super().poll_permitted(principal)

    def poll_matches(self, snapshot: Snapshot, principal) -> bool:
        course_id, _ = snapshot.scope
        return course_id == parse_id(self.kwargs["course_id"]) and super().poll_matches(
            snapshot, principal
        )

    def poll_data(self, snapshot: Snapshot, request) -> dict:
        _, lti_path = snapshot.scope
        return for_request(snapshot.data, request, get_script_prefix() + lti_path)

    @progress_lti_retrieve_schema
    def get(self, request: Request, *args, **kwargs) -> HttpResponse:
        return self.poll(request)


class UnknownRouteView(APIView):
    """Any other URL under Canvas' prefixes: a 404 in Canvas' envelope, not an HTML page."""

    authentication_classes = []
    permission_classes = []
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
