"""Hold a job read that asked to wait (`?wait=<seconds>` with `If-None-Match`).

A family's read answers `304` as usual and attaches a `PollWait` to its response (see
`jobs.polling`); this middleware, the outermost one, then waits until the job changes (a
change published by `jobs.watch`) or the time is up, and asks the view again: a changed job
answers `200` with its new body, an unchanged one `304` once the time is up. While it waits,
no query runs and the response of the first read is discarded.

Under WSGI the waiting holds the worker's thread. Under ASGI, served through `jobs.asgi`
(`config.asgi`), the wait is handed to the ASGI layer instead, which waits in the event loop
and holds no thread; anywhere else the wait holds the request's thread.
"""

from __future__ import annotations

import time

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse

from jobs import watch
from jobs.polling import WAIT_ATTRIBUTE, PollWait

# Set in an ASGI scope by `jobs.asgi`: it waits itself; hand the wait over in the scope.
HANDOFF_SCOPE_KEY = "jobdesk.handoff"


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
