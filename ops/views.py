"""The landing page, and the docs as plain text."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from jobs.demo import ready_lines
from jobs.registry import families


@require_safe
def landing(request: HttpRequest) -> HttpResponse:
    """What jobdesk is and where its pages are; with the demo data, ready curl lines."""
    context = {
        "families": list(families),
        "demo_lines": ready_lines(request.build_absolute_uri("/")) if settings.DEBUG else [],
    }
    return render(request, "landing.html", context)


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
