"""jobdesk's ASGI layer: event streams and `?wait=` reads held in the event loop, no thread each.

Django's ASGI handler keeps a thread for each request until the request ends (its sync
middleware and views run there): a stream or a wait would keep one for as long as it lasts.
This layer wraps the handler.

What the cache alone can answer never reaches Django's request cycle (a thread made for the
request, and the whole middleware stack). A stream (`/api/events`) opens from one cache read
(`jobs.events.fast_open`); a job read whose token and job are cached, a `?wait=` one
included, is answered by the poll's fast path (`jobs.middleware.EarlyChecks`). Both first
pass what the middleware before the view would check (trusted proxies, the HTTPS redirect,
the Host), load again a token past the staleness bound, and are counted in the request
metrics. Anything else (cookies, misses, errors) goes to Django.

There, each request gets a handoff (a dict in its scope under
`jobs.middleware.HANDOFF_SCOPE_KEY`): the events view leaves its prepared stream there, and
`jobs.middleware.PollWaitMiddleware` its `PollWait`, instead of blocking. Once Django has
answered (the response of a handed-off request is held back, not sent), the layer:

- runs the stream in the event loop (`jobs.events.run_async`), which only borrows a thread to
  read a job that changed (once per change for all the streams of the process);
- or waits for the job's change (`jobs.watch.await_change`) and asks again (the cache, else
  Django), until the job's body changes (200) or the time is up (the last 304), as the
  middleware would.

At start it raises its soft open-file limit to the hard one (a connection is a file), and
keeps what it loaded out of the cyclic garbage collector's scans; the objects of open streams
are kept out of them too, a second at a time (`Freezer`). A client that goes
away ends its stream or wait at once; one that stops reading its stream is dropped after
`SEND_TIMEOUT_SECONDS` (a send that the socket cannot take). Anything else passes through to
Django unchanged. `config.asgi.application` is this layer around Django.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import io
import resource
import sys
import time
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from django.core.handlers.asgi import ASGIRequest, get_script_prefix
from django.http import HttpResponse
from django.urls import resolve, reverse, set_script_prefix

from jobs import events, watch
from jobs.middleware import HANDOFF_SCOPE_KEY, early_checks, poll_wait
from jobs.polling import PollWait
from ops.middleware import RequestMetricsMiddleware

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[dict, Receive, Send], Awaitable[None]]

# A client that has not taken a frame after this long has stopped reading: drop it.
SEND_TIMEOUT_SECONDS = 30


class HeldResponse:
    """Django's `send` for one request: passes its answer on, or holds it if it was handed off."""

    def __init__(self, send: Send, handoff: dict) -> None:
        self.send = send
        self.handoff = handoff
        self.messages: list[Message] = []

    async def __call__(self, message: Message) -> None:
        if self.handoff:
            self.messages.append(message)
        else:
            await self.send(message)

    async def flush(self) -> None:
        for message in self.messages:
            await self.send(message)


class Client:
    """The connection's side of a handed-off request: is it still there, and sending to it."""

    def __init__(self, receive: Receive, send: Send, body: bytes) -> None:
        self.disconnected = asyncio.Event()
        self.receive, self.raw_send, self.body = receive, send, body
        self.listener = asyncio.ensure_future(self.listen())

    async def listen(self) -> None:
        while (await self.receive())["type"] != "http.disconnect":
            pass
        self.disconnected.set()

    def replay(self) -> Receive:
        """Return a `receive` for asking Django again: the body, then the disconnect."""
        messages = iter([{"type": "http.request", "body": self.body, "more_body": False}])

        async def receive() -> Message:
            message = next(messages, None)
            if message is None:
                await self.disconnected.wait()
                message = {"type": "http.disconnect"}
            return message

        return receive

    async def send(self, message: Message) -> None:
        """Send, giving up on a client that has not taken what it was sent before."""
        try:
            await asyncio.wait_for(self.raw_send(message), SEND_TIMEOUT_SECONDS)
        except TimeoutError:
            self.disconnected.set()
            raise ClientGone from None

    async def until_gone(self, awaitable: Awaitable) -> bool:
        """Await `awaitable` unless the client goes first; return True if it went."""
        task = asyncio.ensure_future(awaitable)
        gone = asyncio.ensure_future(self.disconnected.wait())
        try:
            await asyncio.wait({task, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
            if not task.done():
                task.cancel()
        return not task.done() or task.cancelled()

    def close(self) -> None:
        self.listener.cancel()


class EarlyAnswer:
    """An answer given without Django's request cycle, sent when `flush`ed."""

    def __init__(self, response: HttpResponse, send: Send) -> None:
        self.response, self.send = response, send

    async def flush(self) -> None:
        response = self.response
        headers = [
            (name.encode("ascii"), value.encode("latin-1")) for name, value in response.items()
        ]
        await self.send(
            {"type": "http.response.start", "status": response.status_code, "headers": headers}
        )
        await self.send({"type": "http.response.body", "body": response.content})


def may_answer_early(scope: dict) -> bool:
    """True for a GET without cookies: a job read or a stream the cache may answer.

    (With cookies a session may be what authenticates it: only the full stack decides.)
    """
    return scope["method"] == "GET" and not any(
        name == b"cookie" for name, _ in scope.get("headers", ())
    )


def early_request(scope: dict) -> ASGIRequest | None:
    """Return the Django request of a GET to answer without Django's request cycle."""
    if scope["method"] != "GET":
        return None
    set_script_prefix(get_script_prefix(scope))
    return ASGIRequest(scope, io.BytesIO())


def answer_cached_poll(scope: dict) -> HttpResponse | None:
    """Return the full stack's answer to a cached poll (see `EarlyChecks`), or None."""
    started = time.perf_counter()
    request = early_request(scope)
    response = None if request is None else early_checks().cached_poll(request)
    if response is not None:
        route = request.resolver_match.route
        observe_request("GET", route, response.status_code, time.perf_counter() - started)
    return response


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count a request answered here, as `ops.middleware.RequestMetricsMiddleware` would."""
    RequestMetricsMiddleware.child(method, route, status).observe(seconds)


class ClientGone(Exception):
    """The client left, or stopped reading."""


def raise_open_file_limit() -> None:
    """Allow as many open files as the system lets this process have: one per connection."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Freezer:
    """Keeps the objects of open streams out of the cyclic garbage collector's scans.

    A full (generation 2) collection scans every object the collector tracks, and stops the
    event loop while it does: the objects each open stream keeps (its request, views, tasks,
    uvicorn's protocol, the futures of its next frame) made it a pause of about a second at
    10,000 streams, in which no change was delivered, and it freed nothing. So every
    `DELAY_SECONDS` while streams are open, `freeze` collects the young generations and moves
    what survives, with what reached the old one since the last freeze, to the permanent
    generation (`gc.freeze`), which no collection scans: full collections then scan about a
    second's worth of objects. Both steps cost in proportion to those objects alone. A
    frozen object is still freed when its last reference goes: a stream that ends, or a frame
    sent, gives its objects back.

    Except for cycles: a cycle of frozen objects that becomes garbage is never collected
    while frozen. So that an events process serving streams for days cannot grow without
    bound, once the interpreter's memory blocks (`sys.getallocatedblocks`) number more than
    `GROWTH` times what they did after the last full collection, everything is unfrozen,
    collected and frozen again (`collect_all`: the one pause left, in proportion to all the
    objects). Memory left to frozen garbage is thereby bounded by about what was live at the
    last full collection, and full collections come once for each such growth: as the
    streams open, or as enough garbage is left frozen. (The blocks are counted a pool at a
    time, under a millisecond; `gc.get_freeze_count` would walk every frozen object, about
    1.6 million at 10,000 streams, and stalled deliveries when taken every few seconds.)
    """

    DELAY_SECONDS = 1.0
    GROWTH = 2

    def __init__(self) -> None:
        self.open = 0
        self.scheduled: asyncio.TimerHandle | None = None
        self.blocks = 0  # the memory blocks allocated after the last full collection

    def opened(self) -> None:
        """Note that a stream opened: freeze every `DELAY_SECONDS` until no stream is open."""
        self.open += 1
        if self.scheduled is None:
            loop = asyncio.get_running_loop()
            self.scheduled = loop.call_later(self.DELAY_SECONDS, self.freeze)

    def closed(self) -> None:
        self.open -= 1

    def freeze(self) -> None:
        """Freeze what survives a collection of the young generations, and what reached the
        old one; collect everything once memory has grown `GROWTH` times since it last was;
        do it again in `DELAY_SECONDS` if streams are still open."""
        self.scheduled = None
        gc.collect(1)
        gc.freeze()
        if sys.getallocatedblocks() > self.GROWTH * self.blocks:
            self.collect_all()
        if self.open:
            loop = asyncio.get_running_loop()
            self.scheduled = loop.call_later(self.DELAY_SECONDS, self.freeze)

    def collect_all(self) -> None:
        """Collect every object, frozen or not, and freeze what survives."""
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        self.blocks = sys.getallocatedblocks()


class JobdeskASGI:
    """Django's ASGI application, with streams and waits served in the event loop."""

    def __init__(self, django: ASGIApp) -> None:
        self.django = django
        self.freezer = Freezer()

    async def __call__(self, scope: dict, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
            return
        if scope["type"] != "http":
            await self.django(scope, receive, send)
            return
        if may_answer_early(scope):
            if scope["path"] == self.events_path:
                if await self.stream_early(scope, receive, send):
                    return
            elif await self.poll_early(scope, receive, send):
                return
        body = bytearray()

        async def recording() -> Message:
            """Django's `receive`, keeping the body to ask again with (Google's `:wait`)."""
            message = await receive()
            body.extend(message.get("body", b""))
            return message

        handoff, answer = await self.ask(scope, recording, send)
        if not handoff:
            return
        client = Client(receive, send, bytes(body))
        try:
            if "stream" in handoff:
                await self.run_stream(handoff["stream"], client)
            else:
                await self.hold(scope, client, answer, handoff)
        except ClientGone:
            pass
        finally:
            client.close()

    @functools.cached_property
    def events_path(self) -> str:
        return reverse("events")

    async def stream_early(self, scope: dict, receive: Receive, send: Send) -> bool:
        """Serve a stream whose credential and jobs are cached without Django's request cycle
        (`jobs.events.fast_open`); return False if it is Django's to answer."""
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        stream = await events.sync_to_async_unbound(self.open_early, scope, loop)
        if stream is None:
            return False
        observe_request("GET", self.events_route, HTTPStatus.OK, time.perf_counter() - started)
        client = Client(receive, send, b"")
        try:
            await self.run_stream(stream, client)
        except ClientGone:
            pass
        finally:
            client.close()
            stream.close()
        return True

    async def run_stream(self, stream: events.EventStream, client: Client) -> None:
        """Send `stream` to `client`, its objects kept out of the collector's scans."""
        self.freezer.opened()
        try:
            await events.run_async(stream, client.send, client.disconnected)
        finally:
            self.freezer.closed()

    @functools.cached_property
    def events_route(self) -> str:
        return resolve(self.events_path).route

    def open_early(
        self, scope: dict, loop: asyncio.AbstractEventLoop | None = None
    ) -> events.EventStream | None:
        """Return the stream of a GET that needs no more than the cache to open; else None.

        The request first passes what the middleware before the view would check of it: who
        the client is (trusted proxies), then the Host and HTTPS checks (see `early_checks`).
        """
        request = early_request(scope)
        if request is None or not early_checks().passed(request):
            return None
        return events.fast_open(request, loop)

    async def poll_early(self, scope: dict, receive: Receive, send: Send) -> bool:
        """Answer a cached job read from the cache, holding a `?wait=` read in the event loop
        as `hold` does; return False if it is Django's to answer."""
        response = await self.answer_early(scope)
        if response is None:
            return False
        client = Client(receive, send, b"")
        try:
            wait = poll_wait(response)
            held = EarlyAnswer(response, client.send)
            if wait is None:
                await held.flush()
            else:
                await self.hold(scope, client, held, {"wait": wait})
        except ClientGone:
            pass
        finally:
            client.close()
        return True

    async def answer_early(self, scope: dict) -> HttpResponse | None:
        """Return the cached poll's answer, as the full stack gives it; else None."""
        return await events.sync_to_async_unbound(answer_cached_poll, scope)

    async def ask(self, scope: dict, receive: Receive, send: Send) -> tuple[dict, HeldResponse]:
        """Let Django answer; return what it handed off, and its held answer."""
        handoff: dict = {}
        held = HeldResponse(send, handoff)
        await self.django({**scope, HANDOFF_SCOPE_KEY: handoff}, receive, held)
        return handoff, held

    async def hold(
        self, scope: dict, client: Client, held: HeldResponse | EarlyAnswer, handoff: dict
    ) -> None:
        """Wait for a `?wait=` read's job to change, and answer as the middleware would.

        Each time the job changes the read is asked again: from the cache when it can answer
        (`answer_cached_poll`), from Django otherwise.
        """
        wait: PollWait = handoff["wait"]
        deadline = time.monotonic() + wait.seconds
        while "wait" in handoff and (remaining := deadline - time.monotonic()) > 0:
            waiting = watch.await_change(
                wait.family, wait.job_id, seen_version=wait.version, timeout=remaining
            )
            if await client.until_gone(waiting):
                return
            response = await self.answer_early(scope) if may_answer_early(scope) else None
            if response is not None:
                again = poll_wait(response)
                handoff = {} if again is None else {"wait": again}
                held = EarlyAnswer(response, client.send)
            else:
                handoff, held = await self.ask(scope, client.replay(), client.send)
            wait = handoff.get("wait", wait)
        await held.flush()

    async def lifespan(self, receive: Receive, send: Send) -> None:
        """Start and stop with the server; stop listening for changes at shutdown."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                raise_open_file_limit()
                # What was loaded at start stays: keep it out of the cyclic collector (as
                # gunicorn's pre_fork does for its workers), the streams' objects too later.
                self.freezer.collect_all()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                watch.get_hub().stop()
                await send({"type": "lifespan.shutdown.complete"})
                return
