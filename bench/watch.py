"""Watch benchmark: thousands of clients watching changing jobs, four ways, side by side.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
    .venv/bin/python bench/watch.py [--watchers 10000] [--jobs 1000] [--seconds 30]

The script creates a scratch database (`jobdesk_watch_bench` by default, dropped and created
afresh), makes `--jobs` running Canvas progresses over a few tenants through the services,
and stores a PROGRESS result per job in Celery's Redis result backend. It serves jobdesk as
production does (`bench.settings`, Redis at `--redis-url`): gunicorn with the threaded workers
of config/gunicorn.py (`web`) and uvicorn with `config.asgi` (`events`). Then, one mode after
the other, a client process (asyncio, raw streams, uvloop) opens `--watchers` watchers,
watcher `n` watching job `n % jobs`, while a writer process changes the jobs round-robin at
`--rate` changes a second for `--seconds`, each change naming its sequence number in the
job's body:

- `sse`: `GET /api/events?job=progress:<id>` on `events`, one stream per watcher;
- `wait`: `?wait=30` reads with `If-None-Match` on `events`, asked again once answered;
- `poll`: the cached poll with `If-None-Match` on `web`, every `--interval` seconds;
- `celery-progress`: celery-progress' poll view on `web`, every `--interval` seconds (the
  writer stores the Celery result instead).

The delivery latency of a change is the time from its commit (for Celery, the result
stored) to a watcher reading the body that names it; every watcher of the job counts once.
For each mode it prints the watchers connected, the changes delivered of those due (a poll
may skip a change overwritten before its next read: that is what polling costs), latency
percentiles, the serving process's CPU (% of one core) and RSS, the client's CPU, the
requests per second and the errors. Before the modes, `wrk` measures the cached poll (304) on
each server, for the deployment decision. It writes `artifacts/bench/watch.json`. This is a
measurement, not a test: nothing here asserts a budget.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, Python puts bench/ first on the path: import from the project root instead.
if sys.path and Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)
elif str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.admin_changelists import postgres_url, recreate_database, with_database  # noqa: E402
from bench.poll import (  # noqa: E402
    ARTIFACTS,
    CLOCK_TICKS,
    LUA_SCRIPT,
    BenchError,
    Server,
    children,
    close_connections,
    cpu_ticks,
    flush_redis,
    free_port,
    raise_on_sigterm,
    rss_mib,
    server_environment,
    setup_django,
    ticks_spent,
)

MODES = ("sse", "wait", "poll", "celery-progress")
# Streams sent to gunicorn instead (not run unless named): how many watchers a worker holds.
EXTRA_MODES = ("sse-web",)
ON_WEB = ("poll", "celery-progress", "sse-web")
MARKER = re.compile(rb"bw-(\d+)")
TENANTS = 10
# Each mode's changes are numbered from its own base, so no body of a mode is taken for
# another's.
SEQUENCE_BASE = 10_000_000
# Watchers opening at once (a ramp, not a stampede of 10,000 first requests).
OPENING_AT_ONCE = 200
WAIT_SECONDS = 30


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--watchers", type=int, default=10_000, help="watchers per mode (default 10,000)")
    add("--jobs", type=int, default=1_000, help="jobs watched and changed (default 1,000)")
    add("--seconds", type=float, default=30, help="how long the writer writes (default 30)")
    add("--rate", type=float, default=20, help="changes a second (default 20)")
    add("--interval", type=float, default=1.0, help="seconds between polls (default 1)")
    add("--modes", default=",".join(MODES), help=f"which modes (default {','.join(MODES)})")
    add("--web-workers", type=int, default=4, help="gunicorn workers (default 4)")
    add("--wrk-seconds", type=float, default=10, help="each cached-poll wrk run (0: skip)")
    add("--open-seconds", type=float, default=300, help="time the watchers get to connect")
    add(
        "--database",
        default=os.environ.get("BENCH_WATCH_DATABASE", "jobdesk_watch_bench"),
        help="scratch database to create (default jobdesk_watch_bench, or BENCH_WATCH_DATABASE)",
    )
    add(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5"),
        help="Redis database of the benchmark's own, flushed (default redis://127.0.0.1:6379/5)",
    )
    add("--output", type=Path, default=ARTIFACTS / "watch.json", help="where the JSON goes")
    # The roles of the processes the benchmark starts (not for a person to use).
    add("--role", choices=("main", "writer", "client"), default="main", help=argparse.SUPPRESS)
    add("--mode", choices=MODES + EXTRA_MODES, help=argparse.SUPPRESS)
    add("--port", type=int, help=argparse.SUPPRESS)
    add("--plan", type=Path, help=argparse.SUPPRESS)
    add("--start", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args()


def raise_open_file_limit() -> None:
    """Every watcher is a socket: allow as many open files as the system lets us."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --- Loading ------------------------------------------------------------------------------


def load(args: argparse.Namespace) -> dict:
    """Create tenants with a token each, and `--jobs` running progresses; return the plan."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from bench.celery_app import app
    from progress.services import progress_create, progress_start
    from tenancy.services import membership_grant, tenant_create, token_issue

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # production settings need it
    User = get_user_model()
    tenants = []
    for n in range(TENANTS):
        tenant = tenant_create(slug=f"watch-{n:02d}", name=f"Watch tenant {n:02d}")
        user = User.objects.create_user(f"watch-{n:02d}-admin", password=None)
        membership_grant(user=user, tenant=tenant, role_name="admin")
        _, key = token_issue(user=user, tenant=tenant, name="watch benchmark")
        tenants.append((tenant, key))
    jobs = []
    for n in range(args.jobs):
        tenant, key = tenants[n % TENANTS]
        progress = progress_create(
            tenant=tenant, tag="watch_bench", context_type="Course", context_id=n
        )
        progress_start(progress)
        task_id = f"watch-bench-{n:06d}"
        app.backend.store_result(task_id, celery_meta(None), "PROGRESS")
        jobs.append({"id": progress.pk, "key": key, "task_id": task_id})
    return {"jobs": jobs}


def celery_meta(sequence: int | None) -> dict:
    description = None if sequence is None else f"bw-{sequence}"
    return {"pending": False, "current": 1, "total": 100, "percent": 1.0,
            "description": description}  # fmt: skip


# --- The writer ---------------------------------------------------------------------------


def run_writer(args: argparse.Namespace) -> None:
    """Change the jobs round-robin at `--rate`; print each change's commit time as JSON."""
    from django.db import transaction

    from bench.celery_app import app
    from jobs.registry import families
    from progress.services import progress_update

    plan = json.loads(args.plan.read_text())["jobs"]
    progresses = families["progress"].jobs().in_bulk([job["id"] for job in plan])
    committed: dict[int, float] = {}
    count = int(args.rate * args.seconds)
    started = time.monotonic()
    for n in range(count):
        delay = started + n / args.rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        sequence, job = args.start + n, plan[n % len(plan)]
        if args.mode == "celery-progress":
            app.backend.store_result(job["task_id"], celery_meta(sequence), "PROGRESS")
            committed[sequence] = time.monotonic()
            continue
        with transaction.atomic():
            # Registered first, so it runs at the commit, before the change is published.
            transaction.on_commit(lambda s=sequence: committed.__setitem__(s, time.monotonic()))
            progresses[job["id"]] = progress_update(progresses[job["id"]], message=f"bw-{sequence}")
    late = time.monotonic() - started - count / args.rate
    print(json.dumps({"committed": committed, "late_seconds": late}))


# --- The client ---------------------------------------------------------------------------


@dataclass
class Tally:
    """What one client process saw."""

    seen: list[tuple[int, int, float]] = field(default_factory=list)  # watcher, sequence, when
    connected: int = 0
    requests: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


class Connection:
    """One HTTP/1.1 connection, reopened when the server closes it (its keep-alive timeout)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, path: str, headers: dict[str, str]) -> tuple[int, dict, bytes]:
        """Send a GET and read its answer; on a kept-alive connection the server has closed
        meanwhile (its keep-alive timeout), reconnect and send it again."""
        reused = self.writer is not None
        try:
            return await self.exchange(path, headers)
        except (asyncio.IncompleteReadError, ConnectionError):
            self.close()
            if not reused:
                raise
            return await self.exchange(path, headers)

    async def exchange(self, path: str, headers: dict[str, str]) -> tuple[int, dict, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(request_bytes(self.port, path, headers))
        status, response_headers = await read_head(self.reader)
        body = await read_body(self.reader, response_headers)
        if response_headers.get("connection") == "close":
            self.close()
        return status, response_headers, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def request_bytes(port: int, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split(" ", 2)[1])
    headers = {}
    for line in head[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return status, headers


async def read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if "content-length" in headers:
        return await reader.readexactly(int(headers["content-length"]))
    body = b""
    async for chunk in chunks(reader, headers):
        body += chunk
    return body


async def chunks(reader: asyncio.StreamReader, headers: dict[str, str]):
    """Yield a chunked body's chunks as they arrive."""
    if headers.get("transfer-encoding") != "chunked":
        return
    while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
        yield (await reader.readexactly(size + 2))[:-2]
    await reader.readuntil(b"\r\n")


def sequence_in(body: bytes) -> int | None:
    found = MARKER.search(body)
    return int(found.group(1)) if found else None


class Watcher:
    """One client watching one job in one mode."""

    def __init__(self, number: int, job: dict, args: argparse.Namespace, tally: Tally) -> None:
        self.number, self.job, self.args, self.tally = number, job, args, tally
        self.last = -1
        self.opened = False
        self.auth = {"Authorization": f"Bearer {job['key']}"}

    def saw(self, body: bytes) -> None:
        sequence = sequence_in(body)
        if sequence is not None and sequence > self.last:
            self.last = sequence
            self.tally.seen.append((self.number, sequence, time.monotonic()))

    async def run(self, opened: asyncio.Semaphore, connected: asyncio.Event) -> None:
        try:
            await getattr(self, self.args.mode.replace("-", "_"))(opened, connected)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self.tally.error(type(error).__name__)

    async def sse(self, opened: asyncio.Semaphore, connected: asyncio.Event) -> None:
        async with opened:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.args.port)
            path = f"/api/events?job=progress:{self.job['id']}"
            writer.write(request_bytes(self.args.port, path, self.auth))
            status, headers = await read_head(reader)
            if status != 200:
                self.tally.error(f"HTTP {status}")
                return
            stream = chunks(reader, headers)
            self.saw(await anext(stream))  # the job as it is
        self.tally.connected += 1
        self.opened = True
        async for chunk in stream:
            self.saw(chunk)
        self.tally.error("stream closed")

    sse_web = sse

    async def wait(self, opened: asyncio.Semaphore, connected: asyncio.Event) -> None:
        connection = Connection(self.args.port)
        path = f"/api/v1/progress/{self.job['id']}"
        async with opened:
            status, headers, body = await connection.request(path, self.auth)
        self.tally.connected += 1
        self.opened = True
        await connected.wait()
        while True:
            etag = headers.get("etag", "")
            status, answer, body = await connection.request(
                f"{path}?wait={WAIT_SECONDS}", {**self.auth, "If-None-Match": etag}
            )
            self.tally.requests += 1
            if status == 200:
                headers = answer
                self.saw(body)
            elif status != 304:
                self.tally.error(f"HTTP {status}")
                await asyncio.sleep(self.args.interval)

    async def poll(self, opened: asyncio.Semaphore, connected: asyncio.Event) -> None:
        path = f"/api/v1/progress/{self.job['id']}"
        await self.polling(path, opened, connected, conditional=True)

    async def celery_progress(self, opened: asyncio.Semaphore, connected: asyncio.Event) -> None:
        path = f"/bench/celery-progress/{self.job['task_id']}"
        await self.polling(path, opened, connected, conditional=False)

    async def polling(
        self, path: str, opened: asyncio.Semaphore, connected: asyncio.Event, *, conditional: bool
    ) -> None:
        """Read every `--interval` seconds (from the previous read's start), as a client would."""
        connection, etag = Connection(self.args.port), None
        async with opened:
            status, headers, body = await connection.request(path, self.auth)
        etag = headers.get("etag")
        self.tally.connected += 1
        self.opened = True
        await connected.wait()
        # Spread the first reads over an interval, as independent clients would be.
        await asyncio.sleep(self.args.interval * (self.number % 1000) / 1000)
        while True:
            started = time.monotonic()
            extra = {"If-None-Match": etag} if conditional and etag else {}
            status, headers, body = await connection.request(path, {**self.auth, **extra})
            self.tally.requests += 1
            if status == 200:
                etag = headers.get("etag")
                self.saw(body)
            elif status != 304:
                self.tally.error(f"HTTP {status}")
            await asyncio.sleep(max(0.0, started + self.args.interval - time.monotonic()))


async def client(args: argparse.Namespace) -> None:
    """Open the watchers, say so, watch until told to stop (a line on stdin), then report."""
    plan = json.loads(args.plan.read_text())["jobs"]
    tally, opened, connected = Tally(), asyncio.Semaphore(OPENING_AT_ONCE), asyncio.Event()
    watchers = [Watcher(n, plan[n % len(plan)], args, tally) for n in range(args.watchers)]
    tasks = [asyncio.ensure_future(watcher.run(opened, connected)) for watcher in watchers]
    deadline = time.monotonic() + args.open_seconds
    while tally.connected + sum(tally.errors.values()) < args.watchers:
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    for watcher, task in zip(watchers, tasks, strict=True):
        if not watcher.opened:
            task.cancel()  # not connected in time: it does not take part
    connected.set()
    tally.seen.clear()  # what the watchers saw while opening is not a delivery
    # The client's own garbage collection must not stall its reading: a full collection of
    # ten thousand connections' objects takes seconds, and would count as delivery latency.
    gc.freeze()
    gc.disable()
    print(json.dumps({"connected": tally.connected, "errors": tally.errors}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    for task in tasks:
        task.cancel()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    report = {
        "seen": tally.seen,
        "connected": tally.connected,
        "requests": tally.requests,
        "errors": tally.errors,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
    }
    print(json.dumps(report), flush=True)


def run_client(args: argparse.Namespace) -> None:
    raise_open_file_limit()
    try:
        import uvloop

        uvloop.run(client(args))
    except ImportError:
        asyncio.run(client(args))


# --- Servers ------------------------------------------------------------------------------


class EventsServer:
    """jobdesk's events process: uvicorn serving config.asgi, as the Procfile runs it."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.log = log.open("w")
        command = [
            sys.executable, "-m", "uvicorn", "config.asgi:application", "--port", str(self.port),
            "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--backlog", "4096",
            "--limit-concurrency", "19000", "--timeout-graceful-shutdown", "1",
            "--log-level", "warning",
        ]  # fmt: skip
        self.process = subprocess.Popen(  # noqa: S603 - our own command line
            command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.pid = self.process.pid

    def pids(self) -> list[int]:
        return [self.pid, *children(self.pid)]

    def wait_ready(self, timeout: float = 60) -> None:
        import http.client

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"uvicorn exited: see {self.log.name}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/bench/noop")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise BenchError(f"uvicorn did not answer within {timeout:.0f} s: see {self.log.name}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def watch_environment(database_url: str, redis_url: str) -> dict[str, str]:
    """The poll benchmark's production environment, with an access key secret's key, and
    celery-progress' poll view served by `web` beside jobdesk (`bench.celery_settings`)."""
    env = server_environment(database_url, redis_url)
    env["DJANGO_SETTINGS_MODULE"] = "bench.celery_settings"
    if "JOBDESK_CREDENTIALS_KEYS" not in env:
        from cryptography.fernet import Fernet

        # Kept for the writer and the servers this run starts (they share the environment).
        env["JOBDESK_CREDENTIALS_KEYS"] = os.environ["JOBDESK_CREDENTIALS_KEYS"] = (
            Fernet.generate_key().decode()
        )
    return env


def web_pids(server: Server) -> list[int]:
    return [server.pid, *server.worker_pids()]


def total_rss(pids: list[int]) -> float:
    found = 0.0
    for pid in pids:
        try:
            found += rss_mib(pid)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


# --- Measuring ----------------------------------------------------------------------------


def measure_mode(args, mode: str, number: int, plan_file: Path, servers: dict) -> dict:
    """Open the watchers of `mode`, let the writer write, and return the figures."""
    port, pids_of = servers["web" if mode in ON_WEB else "events"]
    command = [sys.executable, __file__, "--role", "client", "--mode", mode, "--port", str(port),
               "--plan", str(plan_file), "--watchers", str(args.watchers), "--interval",
               str(args.interval), "--open-seconds", str(args.open_seconds)]  # fmt: skip
    watchers = subprocess.Popen(  # noqa: S603 - our own command line
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        opened = json.loads(watchers.stdout.readline() or "{}")
        print(f"  {mode:<16} {opened.get('connected', 0):,} watchers connected", flush=True)
        start = SEQUENCE_BASE * (number + 1)
        pids = pids_of()
        before, rss_before = cpu_ticks(pids), total_rss(pids)
        began = time.monotonic()
        writer = subprocess.run(  # noqa: S603 - our own command line
            [sys.executable, __file__, "--role", "writer", "--mode", mode, "--plan",
             str(plan_file), "--rate", str(args.rate), "--seconds", str(args.seconds),
             "--start", str(start), "--redis-url", args.redis_url, "--database", args.database],
            capture_output=True, text=True, cwd=ROOT, env=os.environ, check=False,
        )  # fmt: skip
        if writer.returncode != 0:
            raise BenchError(f"the writer failed:\n{writer.stderr[-3000:]}")
        time.sleep(max(2.0, args.interval * 2))  # the last changes' deliveries
        wall = time.monotonic() - began
        pids = pids_of()
        spent = ticks_spent(before, cpu_ticks(pids))
        rss_after = total_rss(pids)
        out, _ = watchers.communicate("stop\n", timeout=120)
    finally:
        if watchers.poll() is None:
            watchers.kill()
    written = json.loads(writer.stdout.strip().splitlines()[-1])
    report = json.loads(out.strip().splitlines()[-1])
    return figures(args, mode, written, report, spent / CLOCK_TICKS / wall, rss_before, rss_after)


def figures(args, mode, written, report, cpu_cores, rss_before, rss_after) -> dict:
    committed = {int(k): v for k, v in written["committed"].items()}
    latencies = [seen - committed[seq] for _, seq, seen in report["seen"] if seq in committed]
    per_job = args.watchers // args.jobs + (1 if args.watchers % args.jobs else 0)
    due = sum(len(range(n % args.jobs, args.watchers, args.jobs)) for n in range(len(committed)))
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    late = sorted(
        ((seen - committed[seq], seq, number) for number, seq, seen in report["seen"]
         if seq in committed), reverse=True,
    )[:200]  # fmt: skip
    return {
        "mode": mode,
        "slowest": [
            {"ms": round(latency * 1000), "change": seq - min(committed), "watcher": number}
            for latency, seq, number in late
        ],
        "connected": report["connected"],
        "changes": len(committed),
        "delivered": len(latencies),
        "due": due,
        "watchers_per_job": per_job,
        "p50_ms": quantiles[49] * 1000,
        "p99_ms": quantiles[98] * 1000,
        "max_ms": max(latencies, default=0.0) * 1000,
        "server_cpu_percent": 100 * cpu_cores,
        "server_rss_mib": rss_after,
        "server_rss_before_mib": rss_before,
        "client_cpu_seconds": report["cpu_seconds"],
        "requests_per_second": report["requests"] / (args.seconds + max(2.0, args.interval * 2)),
        "errors": report["errors"],
        "writer_late_seconds": written["late_seconds"],
    }


def cached_poll_throughput(args, plan: dict, servers: dict) -> dict:
    """wrk on the cached poll (304) of each server: the web/events deployment decision."""
    data = ARTIFACTS / "watch-poll.txt"
    reads = [(f"/api/v1/progress/{job['id']}", job["key"]) for job in plan["jobs"][:200]]
    results = {}
    for name, (port, pids_of) in servers.items():
        # The body names the host: learn the ETags this server answers with.
        data.write_text("\n".join(conditional_reads(port, reads)) + "\n")
        pids = pids_of()
        before = cpu_ticks(pids)
        started = time.monotonic()
        done = subprocess.run(  # noqa: S603
            ["wrk", "-t2", "-c16", f"-d{args.wrk_seconds:g}s", "-s", str(LUA_SCRIPT),  # noqa: S607
             f"http://127.0.0.1:{port}", "--", str(data)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        wall = time.monotonic() - started
        spent = ticks_spent(before, cpu_ticks(pids_of()))
        found = [text for text in done.stdout.splitlines() if text.startswith("WRK_JSON ")]
        if not found:
            raise BenchError(f"wrk failed on {name}:\n{done.stdout}\n{done.stderr}")
        result = json.loads(found[-1].removeprefix("WRK_JSON "))
        requests = result["requests"]
        results[name] = {
            "rps": requests / (result["duration_us"] / 1e6),
            "p99_ms": result["latency_us"]["p99"] / 1000,
            "not_304": requests - result["status"]["304"],
            "cpu_ms_per_request": spent / CLOCK_TICKS * 1000 / max(requests, 1),
            "cpu_percent": 100 * spent / CLOCK_TICKS / wall,
            "rss_mib": total_rss(pids_of()),
        }
    return results


def conditional_reads(port: int, reads: list[tuple[str, str]]) -> list[str]:
    """Return wrk's lines of conditional reads, with the ETags the server has now."""
    import http.client

    lines = []
    for path, key in reads:
        auth = f"Bearer {key}"
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", path, headers={"Authorization": auth})
        response = conn.getresponse()
        response.read()
        conn.close()
        etag = response.getheader("ETag")
        lines.append(f"{path}\tAuthorization: {auth}\tIf-None-Match: {etag}")
    return lines


# --- Reporting ----------------------------------------------------------------------------


def table(rows: list[dict]) -> str:
    head = ("| mode | watchers | delivered / due | p50 ms | p99 ms | max ms | server CPU % "
            "| server RSS MiB | client CPU s | req/s | errors |")  # fmt: skip
    lines = [head, "|" + " --- |" * 11]
    for row in rows:
        errors = ", ".join(f"{k}: {v}" for k, v in row["errors"].items()) or "0"
        lines.append(
            f"| {row['mode']} | {row['connected']:,} | {row['delivered']:,} / {row['due']:,} "
            f"| {row['p50_ms']:,.0f} | {row['p99_ms']:,.0f} | {row['max_ms']:,.0f} "
            f"| {row['server_cpu_percent']:.0f} | {row['server_rss_mib']:,.0f} "
            f"| {row['client_cpu_seconds']:.0f} | {row['requests_per_second']:,.0f} | {errors} |"
        )
    return "\n".join(lines)


def throughput_table(results: dict) -> str:
    lines = ["| server | req/s | p99 ms | CPU ms/request | CPU % | RSS MiB |", "|" + " --- |" * 6]
    for name, row in results.items():
        lines.append(
            f"| {name} | {row['rps']:,.0f} | {row['p99_ms']:.1f} | "
            f"{row['cpu_ms_per_request']:.2f} | {row['cpu_percent']:.0f} | {row['rss_mib']:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    args = parse_args()
    if args.role == "client":
        run_client(args)
        return
    base_url = postgres_url()
    database_url = with_database(base_url, args.database)
    env = watch_environment(database_url, args.redis_url)
    if args.role == "writer":
        setup_django(env)
        run_writer(args)
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, raise_on_sigterm)
    raise_open_file_limit()
    modes = [mode for mode in args.modes.split(",") if mode]
    web = events = None
    recreate_database(base_url, args.database)
    try:
        setup_django(env)
        flush_redis(args.redis_url)
        print(f"Loading {args.jobs:,} running jobs ...", flush=True)
        plan = load(args)
        close_connections()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        plan_file = ARTIFACTS / "watch-plan.json"
        plan_file.write_text(json.dumps(plan))
        web = Server(env, ARTIFACTS / "watch-gunicorn.log", workers=args.web_workers)
        events = EventsServer(env, ARTIFACTS / "watch-uvicorn.log")
        web.wait_ready()
        events.wait_ready()
        servers = {
            "web": (web.port, lambda: web_pids(web)),
            "events": (events.port, events.pids),
        }
        print(f"web: gunicorn, {args.web_workers} workers; events: uvicorn, 1 process")
        throughput = {}
        if args.wrk_seconds > 0:
            throughput = cached_poll_throughput(args, plan, servers)
            print("\nThe cached poll (304) under wrk -t2 -c16:\n")
            print(throughput_table(throughput), flush=True)
        print(
            f"\n{args.watchers:,} watchers of {args.jobs:,} jobs, {args.rate:g} changes/s for "
            f"{args.seconds:g} s, polls every {args.interval:g} s:",
            flush=True,
        )
        rows = [
            measure_mode(args, mode, number, plan_file, servers)
            for number, mode in enumerate(modes)
        ]
        print()
        print(table(rows))
        report = {
            "options": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "cpus": os.cpu_count(),
            "throughput": throughput,
            "modes": rows,
        }
        args.output.write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nWrote {args.output}.")
    except BenchError as error:
        sys.exit(f"watch benchmark failed: {error}")
    except KeyboardInterrupt:
        sys.exit("watch benchmark interrupted")
    finally:
        for server in (events, web):
            if server is not None:
                server.stop()
        close_connections()
        recreate_database(base_url, args.database, drop_only=True)


if __name__ == "__main__":
    main()
