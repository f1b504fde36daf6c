"""Count and time every request by route pattern and status (jobs.metrics)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from prometheus_client import Histogram

from jobs.metrics import REQUEST_SECONDS

# Methods outside this list share one label, so junk methods cannot add series.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestMetricsMiddleware:
    """Observe each request's duration under its route pattern, never its raw path."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        # The histogram's child per label values: `labels()` costs more than `observe()`.
        self.children: dict[tuple[str, str, int], Histogram] = {}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        self.observe(request, response, started)
        return response

    def observe(self, request: HttpRequest, response: HttpResponse, started: float) -> None:
        """Record `request`'s answer, begun at `started` (`time.perf_counter()`)."""
        match = getattr(request, "resolver_match", None)
        key = (request.method, match.route if match is not None else None, response.status_code)
        child = self.children.get(key)
        if child is None:
            child = self.children[key] = self.child(*key)
        child.observe(time.perf_counter() - started)

    @staticmethod
    def child(method: str | None, route: str | None, status: int) -> Histogram:
        method = method if method in KNOWN_METHODS else "other"
        route = "unmatched" if route is None else route or "/"
        return REQUEST_SECONDS.labels(method, route, str(status))
