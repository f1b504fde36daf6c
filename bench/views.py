"""Reference views for the poll benchmark: what a poll costs without jobdesk's machinery."""

from django.http import Http404, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from progress.models import Progress


@require_GET
def bare(request, pk: int) -> JsonResponse:
    """One primary-key query, no authentication, no tenancy, no DRF."""
    row = (
        Progress.objects.across_tenants()
        .filter(pk=pk)
        .values("id", "workflow_state", "completion", "updated_at")
        .first()
    )
    if row is None:
        raise Http404
    return JsonResponse(row)


@require_GET
def noop(request) -> HttpResponse:
    """Nothing at all: the floor set by gunicorn, WSGI and Django's middleware."""
    return HttpResponse(b"ok", content_type="text/plain")
