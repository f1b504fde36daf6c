"""Change notifications: watch a job without polling it.

Every committed change of a job that a client can see (a transition that changes its wire
body, a job deleted by retention) is published as a `JobChange`: family, tenant, job id, the
job's snapshot version after the change, its state, and what kind of change it was. Changes
travel on Redis pub/sub (one channel, `JOBDESK_EVENTS_CHANNEL`) when `REDIS_URL` is set, and
inside the process otherwise. Waits, event streams and webhooks stand on them.

The API (stable; extend it, do not break it):

- `JobChange(family, tenant_id, job_id, version, state, kind)`: `kind` is `progress` (a
  pending job changed), `finished` (it ended in one of its family's succeeded states),
  `failed`, `cancelled`, `changed` (a job that had already ended changed, such as a ROMA
  package downloaded; or something may have changed: read the job again) or `gone`.
- `job_changed(job, *, allowed, to=None)`: publish `job`'s change once the transaction
  commits (`jobs.transitions.transition` calls it; `allowed` are the states it was changed
  from, `to` the state it was changed to, None for its own).
- `jobs_gone(family, rows)`: publish that jobs `(job id, tenant id)` were deleted, after commit.
- `publish(change)`: publish now. Fails soft: a Redis error is logged, never raised.
- `change_published`: a Django signal sent (`change=`) in the publishing process for every
  change it publishes, after the commit (webhooks enqueue their deliveries from it). Receivers
  run on the write path: they must only enqueue, and what they raise is logged, never raised.
- `current_version(family, job_id) -> int | None`: the job's snapshot version, one cache read.
- `wait_for_change(family, job_id, *, seen_version, timeout) -> JobChange | None`: block the
  calling thread until the job's version moves on from `seen_version` (the `Snapshot.version`
  the caller last served), or `timeout` seconds pass (None). It returns at once if the version
  had already moved. No database query while waiting.
- `await_change(...)`: the same, for async code (ASGI views, event streams).
- `subscribe(keys) -> Subscription`: every change of the jobs `(family, job id)`, in order,
  for a stream (`get(timeout)`; `asubscribe(keys)` and `aget(timeout)` in async code, and
  `subscribe_for(loop, keys)` from a thread for code that goes on in `loop`). Use it as a
  context manager, or `close()` it.

A returned change is a wake-up call, not the new state: read the job again (its snapshot:
one cache read, no query) and decide. Without Redis a process hears only its own changes, so
waits also return after `recheck_seconds()` (the snapshot lifetime) to read the job again
(its snapshot has expired by then, so the read sees other processes' writes, as a poll
does); loop until your own deadline:

    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        snapshot = ...  # read the job; answer if it is not the one the client has
        watch.wait_for_change(family, job_id, seen_version=snapshot.version, timeout=remaining)

Consumers check access before they watch (the family's read rules); a change names its job's
tenant, and a consumer only ever receives changes of the jobs it subscribed to.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import threading
import time
from collections.abc import Hashable, Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import transaction
from django.dispatch import Signal

from jobs.registry import families
from tenancy import caching

if TYPE_CHECKING:
    from jobs.family import JobFamily
    from jobs.models import TrackedJob

logger = logging.getLogger(__name__)

KINDS = ("progress", "finished", "failed", "cancelled", "changed", "gone")
ENDINGS = {"succeeded": "finished", "failed": "failed", "cancelled": "cancelled"}
# After a failed publish, skip Redis for this long: an outage must not slow every write.
PUBLISH_BACKOFF_SECONDS = 1.0
# How long the first waiter of a process waits for the subscription to be confirmed.
SUBSCRIBE_SECONDS = 2.0
# While the subscription is down, waiters compare versions this often.
DISCONNECTED_RECHECK_SECONDS = 1.0

Key = tuple[str, str]

# Sent with `change=` for each change this process publishes (see the module docstring).
change_published = Signal()


@dataclass(frozen=True, slots=True)
class JobChange:
    """One committed change of a job that clients can see (see the module docstring)."""

    family: str
    tenant_id: int | None
    job_id: str
    version: int | None
    state: str | None
    kind: str

    @property
    def key(self) -> Key:
        return (self.family, self.job_id)

    @property
    def ended(self) -> bool:
        """True if the job is finished now (or gone)."""
        return self.kind in ("finished", "failed", "cancelled", "gone")

    def encode(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()

    @classmethod
    def decode(cls, raw: bytes | str) -> JobChange | None:
        """Return the change in `raw`, or None for anything that is not one."""
        try:
            fields = json.loads(raw)
            change = cls(**fields)
        except (TypeError, ValueError):
            return None
        return change if change.kind in KINDS else None

    @classmethod
    def unknown(cls, family: str, job_id: str, version: int | None = None) -> JobChange:
        """A change known only by a version that moved (or a lost subscription): read again."""
        return cls(family, None, job_id, version, None, "changed")


def family_name(family: str | JobFamily) -> str:
    return family if isinstance(family, str) else family.name


def key_of(family: str | JobFamily, job_id: Hashable) -> Key:
    return (family_name(family), str(job_id))


# -- Publishing ----------------------------------------------------------------------------


def kind_of(family: JobFamily, state: str, allowed: Iterable[str]) -> str:
    """Return what a change to `state` from one of the `allowed` states means to a watcher."""
    outcome = family.outcome(state)
    if outcome == "pending":
        return "progress"
    if not any(each in family.pending_states for each in allowed):
        return "changed"  # a change of a job that had already ended
    return ENDINGS.get(outcome, "changed")


def job_changed(job: TrackedJob, *, allowed: Iterable[str], to: str | None = None) -> None:
    """Publish the change just made to `job` (to state `to`, or its own) once it commits."""
    family = families.for_model(type(job))
    state = str(to if to is not None else family.state_of(job))
    kind = kind_of(family, state, allowed)
    job_id, tenant_id = str(job.pk), job.tenant_id
    transaction.on_commit(
        lambda: publish_with_version(family, job_id, tenant_id, state, kind), robust=True
    )


def jobs_gone(family: JobFamily, rows: Iterable[tuple[Hashable, int]]) -> None:
    """Publish that the jobs `(job id, tenant id)` were deleted, once the transaction commits."""
    rows = [(str(pk), tenant_id) for pk, tenant_id in rows]

    def gone() -> None:
        for job_id, tenant_id in rows:
            publish(JobChange(family.name, tenant_id, job_id, None, None, "gone"))

    transaction.on_commit(gone, robust=True)


def publish_with_version(
    family: JobFamily, job_id: str, tenant_id: int, state: str, kind: str
) -> None:
    """Publish a change stamped with the job's version as it is after the commit."""
    version = current_version(family, job_id)
    publish(JobChange(family.name, tenant_id, job_id, version, state, kind))


def publish(change: JobChange) -> None:
    """Publish `change` to every process (Redis) or this one; log failures, never raise."""
    try:
        get_hub().publish(change)
    except Exception:
        logger.warning("Could not publish the change of %s %s.", *change.key, exc_info=True)
    for receiver, outcome in change_published.send_robust(sender=JobChange, change=change):
        if isinstance(outcome, Exception):
            logger.warning(
                "%r failed on the change of %s %s.", receiver, *change.key, exc_info=outcome
            )


def current_version(family: str | JobFamily, job_id: Hashable) -> int | None:
    """Return the job's snapshot version (None if it has none, or the cache is unreachable)."""
    key = families[family_name(family)].snapshots.version_key(job_id)
    return caching.read_many([key]).get(key)


# -- Waiting ---------------------------------------------------------------------------------


class Subscription:
    """Changes of a set of jobs, in the order they arrive, for one consumer."""

    def __init__(self, hub: Hub, keys: Iterable[Key]) -> None:
        self.hub = hub
        self.keys = frozenset(keys)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.async_queue: asyncio.Queue[JobChange] | None = None
        self.sync_queue: queue.SimpleQueue[JobChange] = queue.SimpleQueue()

    def bind(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Deliver to event loop `loop` from now on (the running one by default)."""
        self.loop = loop or asyncio.get_running_loop()
        self.async_queue = asyncio.Queue()

    def deliver(self, change: JobChange) -> None:
        """Hand a change over; called from the thread that received it."""
        if self.loop is None:
            self.sync_queue.put(change)
            return
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody listens
            self.loop.call_soon_threadsafe(self.async_queue.put_nowait, change)

    def get(self, timeout: float) -> JobChange | None:
        """Return the next change, or None after `timeout` seconds."""
        try:
            return self.sync_queue.get(timeout=max(timeout, 0))
        except queue.Empty:
            return None

    async def aget(self, timeout: float) -> JobChange | None:
        """Return the next change, or None after `timeout` seconds."""
        try:
            return await asyncio.wait_for(self.async_queue.get(), max(timeout, 0))
        except TimeoutError:
            return None

    def close(self) -> None:
        self.hub.remove(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


def subscribe(keys: Iterable[tuple[str | JobFamily, Hashable]]) -> Subscription:
    """Return a subscription to the changes of jobs `(family, job id)`; close it when done."""
    hub = get_hub()
    subscription = Subscription(hub, (key_of(family, pk) for family, pk in keys))
    hub.add(subscription)
    hub.listen()
    return subscription


async def asubscribe(keys: Iterable[tuple[str | JobFamily, Hashable]]) -> Subscription:
    """`subscribe` for async code: changes arrive in the running event loop (`aget`)."""
    hub = get_hub()
    subscription = Subscription(hub, (key_of(family, pk) for family, pk in keys))
    subscription.bind()
    hub.add(subscription)
    if not hub.listening():  # the first subscriber of the process starts the listener
        await sync_to_async(hub.listen, thread_sensitive=False)()
    return subscription


def subscribe_for(
    loop: asyncio.AbstractEventLoop, keys: Iterable[tuple[str | JobFamily, Hashable]]
) -> Subscription:
    """`asubscribe` from another thread: changes arrive in `loop` (`aget` there)."""
    hub = get_hub()
    subscription = Subscription(hub, (key_of(family, pk) for family, pk in keys))
    subscription.bind(loop)
    hub.add(subscription)
    hub.listen()
    return subscription


def recheck_seconds() -> float | None:
    """Return how often a waiter should read its job again although nothing was heard."""
    return get_hub().recheck_seconds()


def wait_for_change(
    family: str | JobFamily, job_id: Hashable, *, seen_version: int | None, timeout: float
) -> JobChange | None:
    """Block until job `job_id` changes from `seen_version`; None after `timeout` seconds."""
    key = key_of(family, job_id)
    with subscribe([key]) as subscription:
        version = current_version(*key)
        if version is None or version != seen_version:
            return JobChange.unknown(*key, version)
        return subscription.get(capped(timeout, subscription.hub))


async def await_change(
    family: str | JobFamily, job_id: Hashable, *, seen_version: int | None, timeout: float
) -> JobChange | None:
    """`wait_for_change` for async code: no thread is held while waiting."""
    key = key_of(family, job_id)
    subscription = await asubscribe([key])
    try:
        version = await sync_to_async(current_version, thread_sensitive=False)(*key)
        if version is None or version != seen_version:
            return JobChange.unknown(*key, version)
        return await subscription.aget(capped(timeout, subscription.hub))
    finally:
        subscription.close()


def capped(timeout: float, hub: Hub) -> float:
    recheck = hub.recheck_seconds()
    return timeout if recheck is None else min(timeout, recheck)


# -- Transport -------------------------------------------------------------------------------


class Hub:
    """This process's subscriptions, fed by its own publications (no Redis) or by Redis."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_key: dict[Key, set[Subscription]] = {}

    def add(self, subscription: Subscription) -> None:
        with self.lock:
            for key in subscription.keys:
                self.by_key.setdefault(key, set()).add(subscription)

    def remove(self, subscription: Subscription) -> None:
        with self.lock:
            for key in subscription.keys:
                found = self.by_key.get(key)
                if found is not None:
                    found.discard(subscription)
                    if not found:
                        del self.by_key[key]

    def dispatch(self, change: JobChange) -> None:
        """Hand `change` to every subscription of its job."""
        with self.lock:
            targets = list(self.by_key.get(change.key, ()))
        for subscription in targets:
            subscription.deliver(change)

    def dispatch_everyone(self, change_of: Any) -> None:
        """Tell every subscription to read its jobs again (changes may have been missed)."""
        with self.lock:
            targets = [(key, sub) for key, subs in self.by_key.items() for sub in subs]
        for key, subscription in targets:
            subscription.deliver(change_of(key))

    def publish(self, change: JobChange) -> None:
        self.dispatch(change)

    def listen(self) -> None:
        """Make sure changes published elsewhere reach this process (nothing to do here)."""

    def listening(self) -> bool:
        """True if changes published elsewhere reach this process now (`listen` is done)."""
        return True

    def recheck_seconds(self) -> float | None:
        # Other processes' writes reach this one's cache only when its snapshot expires.
        return max(float(settings.JOBDESK_SNAPSHOT_SECONDS), 1.0)

    def stop(self) -> None:
        """Stop receiving (a hub replaced by another configuration)."""


class RedisHub(Hub):
    """Changes published on a Redis channel, received by one listener thread per process."""

    def __init__(self, url: str, channel: str) -> None:
        super().__init__()
        self.url = url
        self.channel = channel
        self.subscribed = threading.Event()
        self.stopped = threading.Event()
        self.listener: threading.Thread | None = None
        self.failed_at = 0.0
        timeout = settings.REDIS_TIMEOUT_SECONDS
        self.client = self.redis(socket_connect_timeout=timeout, socket_timeout=timeout)

    def redis(self, **options: Any):
        from redis import Redis

        return Redis.from_url(self.url, **options)

    def publish(self, change: JobChange) -> None:
        if time.monotonic() - self.failed_at < PUBLISH_BACKOFF_SECONDS:
            raise ConnectionError("Redis failed a moment ago; this change is not published.")
        try:
            self.client.publish(self.channel, change.encode())
        except Exception:
            self.failed_at = time.monotonic()
            raise

    def listen(self) -> None:
        """Start the listener thread once, and wait (briefly) until it has subscribed."""
        if self.listener is None:
            with self.lock:
                if self.listener is None:
                    self.listener = threading.Thread(
                        target=self.run, name="jobdesk-watch", daemon=True
                    )
                    self.listener.start()
        self.subscribed.wait(SUBSCRIBE_SECONDS)

    def listening(self) -> bool:
        return self.listener is not None and self.subscribed.is_set()

    def recheck_seconds(self) -> float | None:
        return None if self.subscribed.is_set() else DISCONNECTED_RECHECK_SECONDS

    def run(self) -> None:
        reconnecting = False
        while not self.stopped.is_set():
            try:
                self.receive(resync=reconnecting)
            except Exception:
                logger.warning("Lost the Redis subscription to job changes.", exc_info=True)
            self.subscribed.clear()
            reconnecting = True
            self.stopped.wait(DISCONNECTED_RECHECK_SECONDS)

    def receive(self, *, resync: bool) -> None:
        client = self.redis(
            socket_connect_timeout=settings.REDIS_TIMEOUT_SECONDS,
            socket_keepalive=True,
            health_check_interval=30,
        )
        with client.pubsub() as pubsub:
            pubsub.subscribe(self.channel)
            while not self.stopped.is_set():
                message = pubsub.get_message(timeout=1.0)
                if message is None:
                    continue
                if message["type"] == "subscribe":
                    self.subscribed.set()
                    if resync:  # changes made while disconnected were missed
                        self.dispatch_everyone(lambda key: JobChange.unknown(*key))
                elif message["type"] == "message":
                    change = JobChange.decode(message["data"])
                    if change is not None:
                        self.dispatch(change)

    def stop(self) -> None:
        self.stopped.set()


_hub: tuple[tuple[str, str], Hub] | None = None
_hub_lock = threading.Lock()


def get_hub() -> Hub:
    """Return this process's hub for the configured Redis and channel (replaced if changed)."""
    global _hub
    config = (settings.REDIS_URL, settings.JOBDESK_EVENTS_CHANNEL)
    found = _hub
    if found is not None and found[0] == config:
        return found[1]
    with _hub_lock:
        if _hub is None or _hub[0] != config:
            if _hub is not None:
                _hub[1].stop()
            hub = RedisHub(*config) if config[0] else Hub()
            _hub = (config, hub)
        return _hub[1]
