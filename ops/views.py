"""The landing page, health and readiness endpoints, and the docs as plain text."""

from __future__ import annotations

import logging
from http import HTTPStatus
from pathlib import Path

from django.conf import settings
from django.core.cache import caches
from django.db import connections
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from jobs.demo import ready_lines
from jobs.registry import families

logger = logging.getLogger(__name__)


@require_safe
def landing(request: HttpRequest) -> HttpResponse:
    """What jobdesk is and where its pages are; with the demo data, ready curl lines."""
    context = {
        "families": list(families),
        "demo_lines": ready_lines(request.build_absolute_uri("/")) if settings.DEBUG else [],
    }
    return render(request, "landing.html", context)


@require_safe
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """The process answers: touches neither the database nor the cache."""
    return HttpResponse("ok\n", content_type="text/plain")


@require_safe
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """The database and the cache answer (each within its connect timeout); 503 names which not."""
    parts = {"database": check_database, "cache": check_cache}
    results = {name: check() for name, check in parts.items()}
    ready = all(result == "ok" for result in results.values())
    status = HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE
    return JsonResponse({"ready": ready, **results}, status=status)


def check_database() -> str:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:
        logger.warning("Readiness: the database is unreachable.", exc_info=True)
        return f"unreachable ({type(error).__name__})"
    return "ok"


def check_cache() -> str:
    try:
        caches["default"].get("jobdesk:readyz")
    except Exception as error:
        logger.warning("Readiness: the cache is unreachable.", exc_info=True)
        return f"unreachable ({type(error).__name__})"
    return "ok"


@require_safe
def doc_page(request: HttpRequest, page: str) -> FileResponse:
    """Serve README.md or a page under docs/ as plain text (its relative links keep working)."""
    base = Path(settings.BASE_DIR).resolve()
    try:
        path = (base / page).resolve()
        shown = path.suffix == ".md" and path.is_file()
    except (ValueError, OSError):
        raise Http404 from None
    if not shown or (path != base / "README.md" and base / "docs" not in path.parents):
        raise Http404
    return FileResponse(path.open("rb"), content_type="text/plain; charset=utf-8")
