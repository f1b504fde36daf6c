"""The landing page, health, readiness and metrics endpoints, and the docs as plain text."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import sys
from http import HTTPStatus
from pathlib import Path

from django.conf import settings
from django.core.cache import caches
from django.db import connections
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from jobs import metrics as job_metrics
from jobs.demo import ready_lines
from jobs.registry import families
from tenancy import outage

logger = logging.getLogger(__name__)

# A request carrying one of these came through a proxy: its loopback address is the proxy's.
PROXY_HEADERS = (
    "HTTP_FORWARDED",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_REAL_IP",
)


# Needs no template, static file or database: it is shown when those may be what failed.
UNAVAILABLE_PAGE = (
    "<!doctype html>\n<title>Service Unavailable (503)</title>\n"
    "<h1>Service Unavailable (503)</h1>\n"
    "<p>jobdesk cannot reach its database or its cache just now. Try again in a moment.</p>\n"
)


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's 500 page, or a plain 503 with `Retry-After` when an outage caused the error.

    The API families answer outages in their own envelopes (`jobs.errors`); this is what the
    admin and every other Django page show (config.urls' `handler500`).
    """
    exc = sys.exc_info()[1]
    if exc is None or not outage.is_outage(exc):
        return defaults.server_error(request)
    outage.noticed(exc)
    response = HttpResponse(UNAVAILABLE_PAGE, status=HTTPStatus.SERVICE_UNAVAILABLE)
    response["Retry-After"] = str(outage.retry_after())
    response["Cache-Control"] = "no-store"
    return response


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
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus' text format, for loopback and for JOBDESK_METRICS_TOKEN only."""
    if not (from_loopback(request) or holds_metrics_token(request)):
        response = HttpResponse(
            "Metrics are served to loopback and to the bearer of JOBDESK_METRICS_TOKEN.\n",
            content_type="text/plain",
            status=HTTPStatus.UNAUTHORIZED,
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(job_metrics.exposition(), content_type=job_metrics.CONTENT_TYPE)


def from_loopback(request: HttpRequest) -> bool:
    """Return True for a request made on this host, not relayed by a proxy."""
    if any(header in request.META for header in PROXY_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def holds_metrics_token(request: HttpRequest) -> bool:
    """Return True if the request carries the configured metrics token (never a tenant's)."""
    expected = settings.JOBDESK_METRICS_TOKEN
    scheme, _, presented = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if not expected or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(presented.strip().encode(), expected.encode())


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
