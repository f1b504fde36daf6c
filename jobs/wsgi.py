"""Answer a cached poll before Django's WSGI handler (config/wsgi.py).

Under WSGI a cached poll (see `jobs.middleware.PollFastPathMiddleware`) costs little next to
what surrounds it in Django's handler: the `request_started` and `request_finished` signals
(which look for old database connections and close the caches), the middleware chain and
the response's conversion. `CachedPollApplication` wraps the handler and answers such a GET
itself, doing what the stack would do to it and no more:

- the middleware before the fast path: the request metrics (`ops.middleware`), the trusted
  proxies' headers (`tenancy.proxies`) and `?wait=` (a 304 that asks to wait goes to the
  handler, whose `PollWaitMiddleware` holds it);
- the fast path's own answer, with the security, common and X-Frame-Options middleware
  replayed on it, then the handler's status line and headers (`EarlyChecks.cached_poll`, as
  under ASGI). A token or snapshot past the staleness bound, or a snapshot not cached, is
  loaded here (a query each) and the poll answered from it, rather than by the whole stack.
  Once two such answers of a shape have agreed, the next ones of that shape are their
  headers with each answer's own values put in (`jobs.polling.AnswerShapes`): no
  `HttpResponse` is built or finished for them.

A request it does not answer goes to the handler untouched, marked so that the fast path is
not tried twice. Its answer skips `request_finished`: a load gives its database connection
back itself (`EarlyChecks.reloaded`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.wsgi import WSGIHandler, get_script_name
from django.urls import set_script_prefix, set_urlconf
from django.utils.log import log_response

from jobs.middleware import EarlyChecks, PollFastPathMiddleware, poll_wait
from jobs.polling import ANSWER_SHAPES, FAST_PATH_TRIED, SHAPE_TO_LEARN, AnswerShapes, ShapedAnswer
from ops.middleware import RequestMetricsMiddleware

# The middleware before the fast path, in order, whose effect on a cached poll is replayed.
BEFORE_FAST_PATH = (
    "ops.middleware.RequestMetricsMiddleware",
    "tenancy.proxies.TrustedProxyMiddleware",
    "jobs.middleware.PollWaitMiddleware",
)


class CachedPollApplication:
    """A WSGI application: a cached poll answered here, anything else by `handler`."""

    def __init__(self, handler: WSGIHandler) -> None:
        expected = [*BEFORE_FAST_PATH, PollFastPathMiddleware.name]
        if list(settings.MIDDLEWARE[: len(expected)]) != expected:
            raise ImproperlyConfigured(
                f"{__name__} answers cached polls as MIDDLEWARE beginning with "
                f"{', '.join(expected)} would: start MIDDLEWARE so, or serve "
                "django.core.wsgi.get_wsgi_application() instead."
            )
        self.handler = handler
        self.metrics = RequestMetricsMiddleware(handler.get_response)
        self.early = EarlyChecks()
        self.shapes = AnswerShapes()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "GET" or environ.get("HTTP_COOKIE"):
            return self.handler(environ, start_response)
        started = time.perf_counter()
        set_script_prefix(get_script_name(environ))
        set_urlconf(settings.ROOT_URLCONF)
        # A copy: the proxies' step rewrites META, and the handler may get this request next.
        request = self.handler.request_class(environ.copy())
        setattr(request, ANSWER_SHAPES, self.shapes)
        response = self.early.cached_poll(request)
        if isinstance(response, ShapedAnswer):
            self.metrics.observe(request, response, started)
            start_response(response.status, response.headers)
            return [response.body]
        if response is None or poll_wait(response) is not None:
            if getattr(request, FAST_PATH_TRIED, False):
                environ[FAST_PATH_TRIED] = True
            return self.handler(environ, start_response)
        if response.status_code >= 400:
            log_response(
                "%s: %s", response.reason_phrase, request.path, response=response, request=request
            )
        self.metrics.observe(request, response, started)
        if hasattr(response, SHAPE_TO_LEARN):
            self.shapes.learn(response)
        start_response(
            f"{response.status_code} {response.reason_phrase}",
            [
                *response.items(),
                *(("Set-Cookie", c.output(header="")) for c in response.cookies.values()),
            ],
        )
        return [response.content]
