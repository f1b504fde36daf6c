"""Open streams kept out of the cyclic garbage collector's scans, with frozen garbage bounded.

`jobs.asgi.Freezer` freezes (`gc.freeze`) what open streams keep, a second at a time, so
that a full collection no longer scans it; a stream that ends still gives its objects back,
and cycles left frozen are collected once memory has grown `Freezer.GROWTH` times.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import weakref

import pytest

from jobs import events
from jobs.asgi import Freezer
from tests.jobs.drivers import drivers
from tests.jobs.watch.test_early_answers import scope_of, warm
from tests.jobs.watch.test_events import headers, ref

# The streams open in the event loop's threads, which see only what was committed.
pytestmark = [pytest.mark.django_db(transaction=True)]

STREAMS = 50


@pytest.fixture
def family():
    return drivers()[0]


@pytest.fixture(autouse=True)
def unfrozen():
    """Give the test process back a collector that scans everything."""
    yield
    gc.unfreeze()


class Cycle:
    """An object that refers to itself: only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.me = self


def test_open_streams_are_frozen_and_their_objects_freed_once_they_end(
    family, tenant, raw_key, monkeypatch
):
    from config.asgi import application

    job = family.make(tenant)
    warm(family, job, raw_key)
    scope = scope_of([("job", ref(family, job))], headers(family, raw_key))
    monkeypatch.setattr(application, "freezer", Freezer())
    monkeypatch.setattr(Freezer, "DELAY_SECONDS", 0)
    streams: list[weakref.ref] = []
    run_async = events.run_async

    async def recording(stream, send, disconnected) -> None:
        streams.append(weakref.ref(stream))
        await run_async(stream, send, disconnected)

    monkeypatch.setattr(events, "run_async", recording)

    async def conversation() -> None:
        application.freezer.collect_all()
        leave = asyncio.Event()

        async def receive() -> dict:
            await leave.wait()
            return {"type": "http.disconnect"}

        async def open_one() -> asyncio.Future:
            answered = asyncio.Event()

            async def send(message: dict) -> None:
                if message.get("body"):
                    answered.set()

            task = asyncio.ensure_future(application(dict(scope), receive, send))
            await answered.wait()
            return task

        tasks = [await open_one() for _ in range(STREAMS)]
        assert len(streams) == STREAMS
        while not frozen([stream() for stream in streams]):
            await asyncio.sleep(0)  # the next freeze, due at once
        leave.set()
        await asyncio.gather(*tasks)
        while application.freezer.scheduled is not None:
            await asyncio.sleep(0)  # the last freeze: no stream is open

    asyncio.run(asyncio.wait_for(conversation(), 120))  # a guard against a hang only

    assert all(stream() is None for stream in streams)  # gone without scanning what is frozen


def frozen(things: list) -> bool:
    """True if the collector's generations hold none of `things` (they are frozen)."""
    tracked = {id(thing) for thing in gc.get_objects()}
    return not any(id(thing) in tracked for thing in things)


def test_cycles_left_frozen_are_collected_once_memory_has_doubled():
    freezer = Freezer()
    freezer.collect_all()
    blocks = freezer.blocks
    batch = blocks // 16
    first = None
    rounds = 0
    while rounds < 4 * Freezer.GROWTH * 16:
        rounds += 1
        cycles = [Cycle() for _ in range(batch)]
        first = first or weakref.ref(cycles[0])
        freezer.freeze()
        del cycles  # garbage now, but frozen: no collection of what is not frozen frees it
        gc.collect()
        assert sys.getallocatedblocks() <= Freezer.GROWTH * blocks + 4 * batch
        if first() is None:
            break
    assert first() is None
    assert rounds > 1  # it was frozen garbage for a while, not freed at once
