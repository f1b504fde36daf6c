"""The poll's middleware: answer a cached poll early, and hold a read that asked to wait.

`PollFastPathMiddleware` answers a GET whose credential and job snapshot are cached (the
fast path of `jobs.polling`) before the rest of the middleware stack, which costs more than
the poll itself. It replays what the middleware after it would do to such an answer (see
`REPLAYED` and `UNTOUCHED`), so the answer is the one the full stack gives, header for header.

`PollWaitMiddleware` holds a job read that asked to wait (`?wait=<seconds>` with
`If-None-Match`). A family's read answers `304` as usual and attaches a `PollWait` to its
response (see `jobs.polling`); this middleware, the outermost one, then waits until the job
changes (a change published by `jobs.watch`) or the time is up, and asks the view again: a
changed job answers `200` with its new body, an unchanged one `304` once the time is up.
While it waits, no query runs and the response of the first read is discarded.

Under WSGI the waiting holds the worker's thread. Under ASGI, served through `jobs.asgi`
(`config.asgi`), the wait is handed to the ASGI layer instead, which waits in the event loop
and holds no thread; anywhere else the wait holds the request's thread.
"""

from __future__ import annotations

import functools
import time

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, ResolverMatch, get_resolver, get_urlconf
from django.urls.resolvers import URLResolver
from django.utils.module_loading import import_string
from rest_framework.exceptions import APIException

from jobs import watch
from jobs.polling import (
    CACHE_READ,
    FAST_PATH_TRIED,
    SNAPSHOT_LOADED,
    WAIT_ATTRIBUTE,
    CachedPollMixin,
    PollWait,
    ShapedAnswer,
)
from tenancy import caching
from tenancy.authentication import PresentedToken, refresh_presented_token
from tenancy.proxies import TrustedProxyMiddleware

# Set in an ASGI scope by `jobs.asgi`: it waits itself; hand the wait over in the scope.
HANDOFF_SCOPE_KEY = "jobdesk.handoff"
# How many resolved URLs each process keeps for the fast path (`resolved_poll_view`): the
# paths of the jobs it is polled for, about 1.2 KB each.
RESOLVED_URLS = 2048


def poll_wait(response: HttpResponse) -> PollWait | None:
    return getattr(response, WAIT_ATTRIBUTE, None)


def handed_off(request: HttpRequest, wait: PollWait) -> bool:
    """Hand the wait to `jobs.asgi` if it serves this request (it waits, then asks again).

    Under ASGI the middleware may run in a thread (a sync middleware outside it makes the
    chain sync): handing off there too is what frees that thread.
    """
    handoff = getattr(request, "scope", {}).get(HANDOFF_SCOPE_KEY)
    if handoff is None:
        return False
    handoff["wait"] = wait
    return True


class PollWaitMiddleware:
    """Answer a read with `?wait=` when its job changes or its time is up (see the module)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):
        if self.is_async:
            return self.acall(request)
        response = self.get_response(request)
        wait = poll_wait(response)
        if wait is None or handed_off(request, wait):
            return response
        deadline = time.monotonic() + wait.seconds
        while wait is not None and (remaining := deadline - time.monotonic()) > 0:
            watch.wait_for_change(
                wait.family, wait.job_id, seen_version=wait.version, timeout=remaining
            )
            response.close()
            response = self.get_response(request)
            wait = poll_wait(response)
        return response

    async def acall(self, request: HttpRequest):
        response = await self.get_response(request)
        wait = poll_wait(response)
        if wait is None or handed_off(request, wait):
            return response
        deadline = time.monotonic() + wait.seconds
        while wait is not None and (remaining := deadline - time.monotonic()) > 0:
            await watch.await_change(
                wait.family, wait.job_id, seen_version=wait.version, timeout=remaining
            )
            response = await self.get_response(request)
            wait = poll_wait(response)
        return response


# The middleware after `PollFastPathMiddleware` whose request and response steps it replays
# around a fast answer: the HTTPS redirect, the Host check, the security headers,
# Content-Length and X-Frame-Options.
REPLAYED = (
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
)
# The middleware after it that leave a fast answer as it is: it serves GETs that carry no
# cookie (so no session, CSRF cookie or message is read or written), to a job read that is no
# static file, that writes nothing (no timeline actor) and reads no session user.
UNTOUCHED = frozenset(
    {
        "whitenoise.middleware.WhiteNoiseMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "jobs.timeline.TimelineActorMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
    }
)


def later_middleware(name: str) -> list[str]:
    """Return the MIDDLEWARE entries after `name`."""
    entries = list(settings.MIDDLEWARE)
    return entries[entries.index(name) + 1 :]


def poll_view(match: ResolverMatch, request: HttpRequest) -> CachedPollMixin | None:
    """Return the view instance the URL's DRF view would make for `request`, if it answers
    polls (a `CachedPollMixin`), set up as DRF's `as_view` sets it up; else None."""
    view_class = getattr(match.func, "cls", None)
    if view_class is None or not issubclass(view_class, CachedPollMixin):
        return None
    view = view_class(**match.func.initkwargs)
    actions = getattr(match.func, "actions", None)
    if actions is not None:  # a viewset: its methods are bound to its actions
        view.action_map = actions
        for method, action in actions.items():
            setattr(view, method, getattr(view, action))
    view.setup(request, *match.args, **match.kwargs)
    return view


def resolved_poll_view(request: HttpRequest) -> tuple[ResolverMatch, CachedPollMixin] | None:
    """Resolve `request`'s URL and return its match and poll view (`poll_view`), or None
    if the URL names no view that answers polls."""
    urlconf = getattr(request, "urlconf", None)
    resolver = get_resolver(get_urlconf() if urlconf is None else urlconf)
    try:
        route, args, kwargs, captured_kwargs = resolved(resolver, request.path_info)
    except Resolver404:
        return None
    # The request's own match: what it holds is copied, as Django's would be its own.
    match = ResolverMatch.__new__(ResolverMatch)
    match.__dict__.update(route.__dict__)
    match.args, match.kwargs, match.captured_kwargs = args, dict(kwargs), dict(captured_kwargs)
    match.app_names, match.namespaces = list(route.app_names), list(route.namespaces)
    match.extra_kwargs = dict(route.extra_kwargs)
    view = poll_view(match, request)
    return None if view is None else (match, view)


@functools.lru_cache(maxsize=RESOLVED_URLS)
def resolved(resolver: URLResolver, path: str) -> tuple[ResolverMatch, tuple, dict, dict]:
    """`resolver.resolve(path)`, as `django.urls.resolve` does, remembered: a job is polled
    again and again, and resolving its URL was the fast path's largest cost. A URL that
    resolves to nothing raises each time, and is not kept. A new URLconf (`clear_url_caches`)
    is a new resolver, so its URLs resolve afresh.

    What is kept of a URL is its arguments (the captured ones, one dictionary with all of
    them when they are the same), and the match of its route (`route_match`), which every URL
    of the route shares: `resolved_poll_view` makes the request's match of them, about 450
    bytes kept per URL instead of 800."""
    match = resolver.resolve(path)
    captured = match.kwargs if match.captured_kwargs == match.kwargs else match.captured_kwargs
    return route_match(match), match.args, match.kwargs, captured


def route_match(match: ResolverMatch) -> ResolverMatch:
    """Return the match every URL of `match`'s route shares: its view, route and names, no
    arguments. Nor does it keep the patterns tried before it, which only Django's debug page
    for a 404 reads (from the match its own handler made)."""
    key = (match.func, match.route, match.view_name, match._func_path)
    shared = ROUTE_MATCHES.get(key)
    if shared is None or any(
        getattr(shared, name) != getattr(match, name) for name in ROUTE_ATTRIBUTES
    ):
        shared = ResolverMatch.__new__(ResolverMatch)
        shared.__dict__.update(match.__dict__)
        shared.args, shared.kwargs, shared.captured_kwargs, shared.tried = (), {}, {}, None
        if len(ROUTE_MATCHES) < RESOLVED_URLS:
            ROUTE_MATCHES[key] = shared
    return shared


# The routes' shared matches, and what of a match is its route's.
ROUTE_MATCHES: dict[tuple, ResolverMatch] = {}
ROUTE_ATTRIBUTES = ("url_name", "app_names", "namespaces", "extra_kwargs")


class PollFastPathMiddleware:
    """Answer a GET job read from the cache before the middleware after it (see the module).

    Anything the fast path does not answer (a miss, a refusal, a request with cookies, another
    URL) goes down the stack as usual. A middleware added after this one must be listed in
    `REPLAYED` or `UNTOUCHED`, or jobdesk refuses to start: the fast answer must stay the full
    stack's answer.
    """

    name = f"{__name__}.PollFastPathMiddleware"
    sync_capable = True
    async_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
        later = later_middleware(self.name)
        unknown = [entry for entry in later if entry not in REPLAYED and entry not in UNTOUCHED]
        if unknown:
            raise ImproperlyConfigured(
                f"{', '.join(unknown)} comes after {self.name} in MIDDLEWARE: list it in "
                "jobs.middleware.REPLAYED (a cached poll's answer goes through it) or UNTOUCHED."
            )
        replayed = [import_string(entry)(get_response) for entry in REPLAYED if entry in later]
        self.request_steps = [m.process_request for m in replayed if hasattr(m, "process_request")]
        self.response_steps = [m.process_response for m in reversed(replayed)]

    def __call__(self, request: HttpRequest):
        if self.is_async:
            return self.acall(request)
        if request.META.get(FAST_PATH_TRIED):  # tried before Django, by `jobs.wsgi`
            setattr(request, FAST_PATH_TRIED, True)
            return self.get_response(request)
        response = self.fast_answer(request) if self.may_answer(request) else None
        return self.get_response(request) if response is None else response

    async def acall(self, request: HttpRequest):
        # The cache client blocks: in a thread, as Django runs a sync view under ASGI.
        response = None
        if self.may_answer(request):
            response = await sync_to_async(self.fast_answer)(request)
        return await self.get_response(request) if response is None else response

    @staticmethod
    def may_answer(request: HttpRequest) -> bool:
        """Only a GET without cookies: no session, CSRF cookie or message to honour."""
        return request.method == "GET" and not request.META.get("HTTP_COOKIE")

    def fast_answer(self, request: HttpRequest) -> HttpResponse | None:
        """Return the cached poll's answer as the full stack would give it; else None."""
        resolved = resolved_poll_view(request)
        return None if resolved is None else self.answer(request, *resolved)

    def answer(
        self, request: HttpRequest, match: ResolverMatch, view: CachedPollMixin
    ) -> HttpResponse | ShapedAnswer | None:
        """`fast_answer` for the poll `view` that `request`'s URL resolved to (`match`); a
        `ShapedAnswer` (`jobs.polling.AnswerShapes`) is the stack's answer already."""
        # Errors (a bad Host, a forbidden agent) and redirects are the full stack's to answer.
        try:
            if any(step(request) is not None for step in self.request_steps):
                return None
        except Exception:
            return None
        request.resolver_match = match
        response = view.fast_poll(request)
        setattr(request, FAST_PATH_TRIED, True)
        if response is None or isinstance(response, ShapedAnswer):
            return response
        for step in self.response_steps:
            response = step(request, response)
        return response


class EarlyChecks:
    """What the middleware checks of a request before its view, for a GET answered early.

    `jobs.asgi` opens a cached event stream, and answers a cached `?wait=` read, without
    Django's request cycle: the request must first pass what the stack would do to it before
    the view. That is who the client is (`TrustedProxyMiddleware`), then the request steps
    `PollFastPathMiddleware` replays: the HTTPS redirect, the Host and user-agent checks. The
    rest leave a GET without cookies alone (see `UNTOUCHED`).
    """

    def __init__(self) -> None:
        self.fast_path = PollFastPathMiddleware(lambda request: None)

    def passed(self, request: HttpRequest) -> bool:
        """Return True if no middleware would answer `request` before its view."""
        if not PollFastPathMiddleware.may_answer(request):
            return False
        TrustedProxyMiddleware.believe_proxies(request)
        try:
            return not any(step(request) is not None for step in self.fast_path.request_steps)
        except Exception:  # a bad Host: the full stack answers it
            return False

    def cached_poll(self, request: HttpRequest) -> HttpResponse | None:
        """Return the full stack's answer to a cached poll (`PollFastPathMiddleware`), or None.

        A `?wait=` read's 304 carries its `PollWait`, as it does for `PollWaitMiddleware`. A
        token or snapshot past the staleness bound is loaded again here (a query each),
        rather than leaving every read that presents it to the full stack until one has.
        """
        if not PollFastPathMiddleware.may_answer(request):
            return None
        TrustedProxyMiddleware.believe_proxies(request)
        resolved = resolved_poll_view(request)
        if resolved is None:
            return None
        response = self.fast_path.answer(request, *resolved)
        if response is None and self.reloaded(request, resolved[1]):
            response = self.fast_path.answer(request, *resolved)
        return response

    @staticmethod
    def reloaded(request: HttpRequest, view: CachedPollMixin) -> bool:
        """Cache again what the job read `view` needs if the cache could not serve it now:
        its token (`tenancy.authentication.refresh_presented_token`), then, for a usable
        token only, its job's snapshot past the staleness bound (`JobSnapshots.current`);
        True if it did either. It gives back the database connection it used."""
        try:
            return EarlyChecks.reload(request, view)
        finally:
            # No request ends around this to give back the connection (a pooled one) or to
            # close one past its age or broken.
            close_old_connections()

    @staticmethod
    def reload(request: HttpRequest, view: CachedPollMixin) -> bool:
        """`reloaded`'s loads, for the poll `view` of `request`.

        Where the fast path found the token in the cache but no snapshot it could serve, it
        left what the cache gave on the request (`CACHE_READ`): the job is loaded from that,
        and the snapshot stored is added to it, so the fast path answers with no second read.
        """
        found = getattr(request, CACHE_READ, None)
        if found is None:
            token = refresh_presented_token(request, view.get_authenticators())
            if token is None:  # no token, or an unusable one: reads nothing more for it
                return False
            reloaded = token is PresentedToken.RELOADED
        else:
            reloaded = False
        try:
            pk = view.poll_key()
        except APIException:
            return reloaded
        if found is None:
            cached, found = view.snapshots.lookup(pk)
        else:
            cached = view.snapshots.cached(pk, found)
        if cached is not None and caching.fresh(cached.stored_at):
            return reloaded
        snapshot = view.snapshots.current(pk, cached, found)
        if snapshot is None:
            return reloaded
        if snapshot is not cached:  # read from the database: the read counts as a miss
            setattr(request, SNAPSHOT_LOADED, True)
            found[view.snapshots.snapshot_key(pk)] = snapshot
        return True


@functools.cache
def early_checks() -> EarlyChecks:
    return EarlyChecks()
