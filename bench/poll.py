"""Poll benchmark: serve jobdesk with gunicorn and measure each family's poll with wrk.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
    .venv/bin/python bench/poll.py [--seconds 15] [--reps 3] [--database NAME] [--keep]

The script creates a scratch database (`jobdesk_poll_bench` by default, dropped and created
afresh) next to the one DATABASE_URL names, migrates it and loads 100,000 jobs per family over
100 tenants, each tenant with an `admin` member and an API token. It stores a few thousand
PROGRESS results in Celery's Redis result backend (its own Redis database number, flushed),
then serves jobdesk with gunicorn in production settings (`bench.settings`: jobdesk's own plus
the reference views under /bench/; `--server granian` serves the same application with
Granian instead, to measure another server) and runs `wrk` with `bench/wrk/poll.lua` against:

- each family's poll of a random sampled job, with the job's tenant's token;
- the same polls sending `If-None-Match` with the ETag the job had (the 304 path);
- references: a bare Django view doing one primary-key query, celery-progress' own poll
  view reading Redis, and a view that does nothing.

Each scenario is warmed up once, then the timed runs are interleaved (every scenario once per
repetition). It prints a Markdown table of medians over the repetitions (req/s, latency
percentiles, server CPU per request, worker RSS, ratios to the references) and writes every
run to `artifacts/bench/poll.json`. It fails if any response had another status than the
scenario expects. It stops the server and drops the database at the end (unless `--keep`).
This is a measurement, not a test: nothing here asserts a budget.
"""

from __future__ import annotations

import argparse
import http.client
import importlib
import json
import os
import platform
import resource
import runpy
import secrets
import shutil
import signal
import socket
import statistics
import string
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, Python puts bench/ first on the path: import from the project root instead.
if sys.path and Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)
elif str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.admin_changelists import (  # noqa: E402
    postgres_url,
    recreate_database,
    with_database,
)

LUA_SCRIPT = ROOT / "bench" / "wrk" / "poll.lua"
ARTIFACTS = ROOT / "artifacts" / "bench"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SPAN = timedelta(days=30)
# Warn when programs other than the server, wrk, PostgreSQL and Redis used more CPU than
# this (% of one core, median of a scenario's runs) while wrk ran.
OTHER_LOAD_WARNING = 20


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--seconds", type=float, default=15, help="length of each timed run (default 15)")
    add("--reps", type=int, default=5, help="timed runs per scenario (default 5)")
    add("--warmup", type=float, default=3, help="untimed warm-up per scenario (default 3 s)")
    add("--jobs", type=int, default=100_000, help="jobs per family (default 100,000)")
    add("--tenants", type=int, default=100, help="tenants (default 100)")
    add("--sample", type=int, default=2_000, help="jobs polled per family (default 2,000)")
    add("--celery-tasks", type=int, default=2_000, help="task results in Redis (default 2,000)")
    add(
        "--server",
        choices=["gunicorn", "granian"],
        default="gunicorn",
        help="gunicorn with config/gunicorn.py, as production serves (default), or Granian's "
        "WSGI server with as many workers and threads, for comparison",
    )
    add("--workers", type=int, default=4, help="server worker processes (default 4)")
    add(
        "--worker-class",
        help="gunicorn worker class (default: config/gunicorn.py's, as production serves)",
    )
    add(
        "--server-threads",
        type=int,
        help="threads per worker (default: config/gunicorn.py's, for Granian too)",
    )
    add("--threads", type=int, default=2, help="wrk threads (default 2)")
    add("--connections", type=int, default=16, help="wrk connections (default 16)")
    add(
        "--database",
        default=os.environ.get("BENCH_POLL_DATABASE", "jobdesk_poll_bench"),
        help="scratch database to create (default jobdesk_poll_bench, or BENCH_POLL_DATABASE)",
    )
    add(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5"),
        help="Redis database of the benchmark's own, flushed (default redis://127.0.0.1:6379/5)",
    )
    add("--output", type=Path, default=ARTIFACTS / "poll.json", help="where the JSON goes")
    add("--keep", action="store_true", help="keep the database and Redis data afterwards")
    args = parser.parse_args()
    if args.server == "granian" and args.worker_class:
        parser.error("--worker-class is gunicorn's: Granian has one kind of WSGI worker")
    return args


# --- Loading ------------------------------------------------------------------------------


def server_environment(database_url: str, redis_url: str) -> dict[str, str]:
    """Return the environment of jobdesk in production settings, for the server and loader."""
    env = dict(os.environ)
    env.pop("DJANGO_DEBUG", None)
    alphabet = string.ascii_letters + string.digits + "!@#%^&*(-_=+)"
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DJANGO_SECRET_KEY="".join(secrets.choice(alphabet) for _ in range(50)),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_SECURE_SSL_REDIRECT="0",
        JOBDESK_CREDENTIALS_KEYS=Fernet.generate_key().decode(),
        # Production serves the static files `collectstatic` wrote (see `collect_static`).
        DJANGO_STATIC_ROOT=str(ARTIFACTS / "static"),
        # As `make serve` runs it: the workers' metrics meet in one directory (jobs.metrics).
        PROMETHEUS_MULTIPROC_DIR=str(ARTIFACTS / "metrics"),
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
    )
    # Every sampled job's snapshot is made while the ETags are learned; with the default
    # lifetime (300 s) they would all expire at once in the middle of the timed runs, a burst of
    # first polls that no steady load has. Keep them for the run (override to see the burst).
    env.setdefault("JOBDESK_SNAPSHOT_SECONDS", "3600")
    return env


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ.pop("DJANGO_DEBUG", None)
    import django

    django.setup()


def collect_static() -> None:
    """Collect the static files: production refuses to start without their manifest."""
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)


@dataclass
class Loaded:
    """What the scenarios need from the loaded data."""

    keys: dict[int, str]  # tenant id -> raw API key of its admin member
    # Each family's sampled polls: (path, tenant id, the header carrying the key).
    polls: dict[str, list[tuple[str, int, str]]] = field(default_factory=dict)
    bare_ids: list[int] = field(default_factory=list)  # Canvas progress ids for the bare view
    task_ids: list[str] = field(default_factory=list)


@dataclass
class BenchData:
    """What a family's `bench.py` loads its jobs with: the tenants, a time, a COPY writer."""

    tenants: list
    now: datetime
    cursor: object
    span: timedelta = SPAN
    tables: list[str] = field(default_factory=list)

    @property
    def tenant_ids(self) -> list[int]:
        return [tenant.pk for tenant in self.tenants]

    @staticmethod
    def pick(rng: Random, weights: dict[str, float]) -> str:
        """Return a key of `weights`, drawn with those weights."""
        return rng.choices(list(weights), weights=list(weights.values()))[0]

    def copy(self, table: str, columns: list[str], rows) -> None:
        """Write `rows` into `table` with PostgreSQL's COPY."""
        with self.cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        self.tables.append(table)


def bench_modules() -> dict[str, object]:
    """Return each registered family's `bench` module (its data and polls), by family name."""
    from django.utils.module_loading import module_has_submodule

    from jobs.registry import families

    found = {}
    for family in families:
        app = family.model._meta.app_config
        if not module_has_submodule(app.module, "bench"):
            raise BenchError(
                f"Job family {family.name!r} has no {app.name}/bench.py (load(data, count) and "
                "polls(cursor, size)): see docs/development/adding-a-family.md."
            )
        found[family.name] = importlib.import_module(f"{app.name}.bench")
    return found


def load(args: argparse.Namespace) -> Loaded:
    """Create tenants, members and tokens, then every family's jobs; return the keys."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from tenancy.services import membership_grant, tenant_create, token_issue

    call_command("migrate", verbosity=0)
    User = get_user_model()
    keys, tenants = {}, []
    for n in range(args.tenants):
        tenant = tenant_create(slug=f"bench-{n:03d}", name=f"Bench tenant {n:03d}")
        # No usable password: the benchmark authenticates with API tokens only.
        user = User.objects.create_user(f"bench-{n:03d}-admin", password=None)
        membership_grant(user=user, tenant=tenant, role_name="admin")
        _, keys[tenant.pk] = token_issue(user=user, tenant=tenant, name="poll benchmark")
        tenants.append(tenant)
    with connection.cursor() as cursor:
        data = BenchData(tenants=tenants, now=datetime.now(UTC), cursor=cursor)
        for name, module in bench_modules().items():
            started = time.perf_counter()
            module.load(data, args.jobs)
            print(f"  {name:<13} {time.perf_counter() - started:5.1f} s")
        for table in data.tables:
            cursor.execute(f"VACUUM ANALYZE {table}")
    return Loaded(keys=keys)


def sample(loaded: Loaded, size: int) -> None:
    """Pick `size` random jobs of each family (over every tenant) for the polls."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.5)")
        for name, module in bench_modules().items():
            loaded.polls[name] = module.polls(cursor, size)
        # The bare reference view reads a Canvas progress by id, with nothing else.
        cursor.execute("SELECT id FROM progress_progress ORDER BY random() LIMIT %s", [size])
        loaded.bare_ids = [pk for (pk,) in cursor.fetchall()]


def store_celery_results(loaded: Loaded, count: int) -> None:
    """Store PROGRESS results of `count` task ids in Celery's Redis result backend."""
    from bench.celery_app import app

    rng = Random(14)  # noqa: S311 - reproducible data, not secrets
    for _ in range(count):
        task_id = str(uuid.UUID(int=rng.getrandbits(128)))
        done = rng.randint(0, 99)
        meta = {"pending": False, "current": done, "total": 100, "percent": float(done),
                "description": None}  # fmt: skip
        app.backend.store_result(task_id, meta, "PROGRESS")
        loaded.task_ids.append(task_id)


def flush_redis(url: str) -> None:
    """Empty the benchmark's own Redis database (only that database number)."""
    import redis

    redis.Redis.from_url(url).flushdb()


# --- Scenarios ----------------------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    lines: list[str]  # one request per line: path, then "Name: value" headers, tab-separated
    expected: int = 200
    note: str = ""
    server: str = "jobdesk"  # which server answers it: "jobdesk", or "celery" (the reference)
    runs: list[dict] = field(default_factory=list)


def polls(loaded: Loaded) -> dict[str, list[tuple[str, dict[str, str]]]]:
    """Return each family's poll requests: (path, headers), the key in the family's header."""
    keys = loaded.keys

    def credentials(header: str, tenant: int) -> dict[str, str]:
        key = keys[tenant]
        return {header: f"Bearer {key}" if header == "Authorization" else key}

    return {
        name: [(path, credentials(header, tenant)) for path, tenant, header in requests]
        for name, requests in loaded.polls.items()
    }


def learn_etags(port: int, requests: list[tuple[str, dict[str, str]]]) -> list[str | None]:
    """GET each request once (warming the server up); return each response's ETag, if any."""

    def fetch(chunk: list[tuple[str, dict[str, str]]]) -> list[str | None]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        etags = []
        try:
            for path, headers in chunk:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                body = response.read()
                if response.status != 200:
                    raise BenchError(f"GET {path} answered {response.status}: {body[:300]!r}")
                etags.append(response.getheader("ETag"))
        finally:
            conn.close()
        return etags

    chunks = [requests[n::8] for n in range(8)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(fetch, chunks))
    # Put the answers back in the order of `requests` (chunk n holds items n, n+8, ...).
    etags: list[str | None] = [None] * len(requests)
    for n, chunk_etags in enumerate(answers):
        etags[n::8] = chunk_etags
    return etags


def line(path: str, headers: dict[str, str]) -> str:
    return "\t".join([path, *(f"{name}: {value}" for name, value in headers.items())])


def scenarios(loaded: Loaded, port: int) -> list[Scenario]:
    """Build every scenario, learning each sampled job's ETag with one GET."""
    plain, conditional = [], []
    for family, requests in polls(loaded).items():
        started = time.perf_counter()
        etags = learn_etags(port, requests)
        with_etag = sum(etag is not None for etag in etags)
        print(
            f"  {family:<13} {len(requests):,} GETs in {time.perf_counter() - started:4.1f} s,"
            f" {with_etag:,} with an ETag"
        )
        plain.append(Scenario(family, [line(path, headers) for path, headers in requests]))
        name = f"{family} 304"
        if with_etag:
            lines = [
                line(path, {**headers, "If-None-Match": etag})
                for (path, headers), etag in zip(requests, etags, strict=True)
                if etag is not None
            ]
            note = (
                ""
                if with_etag == len(requests)
                else f"only the {with_etag:,} of {len(requests):,} jobs with an ETag polled"
            )
            conditional.append(Scenario(name, lines, expected=304, note=note))
        else:
            lines = [
                line(path, {**headers, "If-None-Match": '"none"'}) for path, headers in requests
            ]
            note = "WARNING: no ETag in any response: measured full 200s, not 304s"
            conditional.append(Scenario(name, lines, expected=200, note=note))
    references = [
        Scenario("bare", [line(f"/bench/bare/{job}", {}) for job in loaded.bare_ids]),
        Scenario(
            "celery-progress",
            [line(f"/bench/celery-progress/{task}", {}) for task in loaded.task_ids],
            server="celery",
        ),
        Scenario("noop", [line("/bench/noop", {})]),
    ]
    return plain + conditional + references


# --- Server -------------------------------------------------------------------------------


class BenchError(RuntimeError):
    """The benchmark cannot go on (a server that does not answer, a wrong status...)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def proc_stat(pid: int) -> list[str]:
    """Return the fields of /proc/<pid>/stat after the command name (field 3 on)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def children(pid: int) -> list[int]:
    """Return the ids of the live processes whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int(proc_stat(int(entry.name))[1]) == pid:
                    found.append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError, ValueError, IndexError):
                continue
    return sorted(found)


def cpu_ticks(pids: list[int], *, reaped_of: int | None = None) -> dict[int, int]:
    """Return each live pid's user + system clock ticks (plus its reaped children's for one)."""
    ticks = {}
    for pid in pids:
        try:
            fields = proc_stat(pid)
        except (FileNotFoundError, ProcessLookupError):
            continue
        ticks[pid] = int(fields[11]) + int(fields[12])  # utime, stime
        if pid == reaped_of:
            ticks[pid] += int(fields[13]) + int(fields[14])  # cutime, cstime: exited workers
    return ticks


def ticks_spent(before: dict[int, int], after: dict[int, int]) -> int:
    """Return the ticks spent between two readings by the processes alive at the second.

    A process that started in between counts whole; one that ended in between (a database
    connection closed at its age limit) is left out, with the little it spent since `before`.
    """
    return sum(ticks - before.get(pid, 0) for pid, ticks in after.items())


def processes_named(name: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    pids.append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError):
                continue
    return pids


def machine_ticks() -> tuple[int, int]:
    """Return (busy, total) clock ticks of all CPUs since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    total = sum(values[:8])  # user nice system idle iowait irq softirq steal (not guest)
    return total - idle, total


def memory_mib(pid: int) -> dict[str, float]:
    """Return a process's resident memory in MiB: RSS, PSS and USS (/proc/<pid>/smaps_rollup).

    RSS counts every page the process maps, shared ones whole; PSS shares each page among
    the processes that map it; USS counts only the pages no other process maps (what stopping
    the process would free).
    """
    kib = {}
    for text in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, rest = text.partition(":")
        if rest.strip().endswith("kB"):
            kib[name] = int(rest.split()[0])
    uss = kib.get("Private_Clean", 0) + kib.get("Private_Dirty", 0)
    return {"rss": kib.get("Rss", 0) / 1024, "pss": kib.get("Pss", 0) / 1024, "uss": uss / 1024}


def rss_mib(pid: int) -> float:
    """Return a process's resident set size in MiB (shared pages counted whole)."""
    return memory_mib(pid)["rss"]


class Server:
    """jobdesk under gunicorn, configured as production serves it (config/gunicorn.py), in its
    own process group. Only the port, the number of workers and, if asked, the worker class
    and threads come from the benchmark's options; every scenario is served alike. Or, with
    `server="granian"`, the same application under Granian's WSGI server."""

    def __init__(
        self,
        env: dict[str, str],
        log: Path,
        *,
        workers: int,
        worker_class: str | None = None,
        threads: int | None = None,
        server: str = "gunicorn",
    ) -> None:
        self.port = free_port()
        self.workers, self.server = workers, server
        config = runpy.run_path(str(ROOT / "config" / "gunicorn.py"))
        self.threads = threads or config.get("threads", 1)
        self.worker_class = (
            "Granian WSGI" if server == "granian" else worker_class or config.get("worker_class")
        )
        self.log = log.open("w")
        self.metrics = metrics = Path(env["PROMETHEUS_MULTIPROC_DIR"])
        shutil.rmtree(metrics, ignore_errors=True)
        metrics.mkdir(parents=True)
        if server == "granian":
            # As gunicorn serves it: the threads of config/gunicorn.py, an access log line per
            # request; Granian has no preloading, so each worker imports jobdesk itself.
            command = [
                sys.executable, "-m", "granian", "--interface", "wsgi", "--no-ws",
                "--workers", str(workers), "--blocking-threads", str(self.threads),
                "--host", "127.0.0.1", "--port", str(self.port), "--access-log",
                "--log-level", "warning", "config.wsgi:application",
            ]  # fmt: skip
        else:
            command = [
                sys.executable, "-m", "gunicorn", "--config", "config/gunicorn.py",
                "config.wsgi:application", "--workers", str(workers),
                "--bind", f"127.0.0.1:{self.port}", "--log-level", "warning",
            ]  # fmt: skip
            if worker_class:
                command += ["--worker-class", worker_class]
            if threads:
                command += ["--threads", str(threads)]
        self.process = subprocess.Popen(  # noqa: S603 - our own command line
            command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def describe(self) -> str:
        """Return the workers served with: the options given, else config/gunicorn.py's."""
        worker_class = self.worker_class or "sync"
        return f"{self.workers} {worker_class} workers" + (
            f" of {self.threads} threads" if self.threads > 1 else ""
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def worker_pids(self) -> list[int]:
        return children(self.pid)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(
                    f"{self.server} exited with {self.process.returncode}: see {self.log.name}"
                )
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/bench/noop")
                ok = conn.getresponse().status == 200
                conn.close()
                if ok and len(self.worker_pids()) == self.workers:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise BenchError(
            f"{self.server} did not answer within {timeout:.0f} s: see {self.log.name}"
        )

    def stop(self) -> None:
        """Stop the master and its workers (their process group), waiting for them."""
        if self.process.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGTERM)
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.process.wait()
            except ProcessLookupError:
                pass
        self.log.close()


# --- Running wrk --------------------------------------------------------------------------


def run_wrk(args, server: Server, scenario: Scenario, data: Path, seconds: float) -> dict:
    """Run wrk once for `scenario`; return its numbers and the CPU they cost."""
    command = [
        "wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds:g}s",
        "--timeout", "10s", "-s", str(LUA_SCRIPT), f"http://127.0.0.1:{server.port}",
        "--", str(data),
    ]  # fmt: skip
    workers = server.worker_pids()
    lookups_before = snapshot_lookups(server.metrics)
    server_before = cpu_ticks([server.pid, *workers], reaped_of=server.pid)
    pg_before = cpu_ticks(processes_named("postgres"))
    redis_before = cpu_ticks(processes_named("redis-server"))
    machine_before, wrk_before = machine_ticks(), resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    wall = time.perf_counter() - started
    wrk_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    machine_after = machine_ticks()
    workers_after = server.worker_pids()
    server_after = cpu_ticks([server.pid, *workers_after], reaped_of=server.pid)
    server_ticks = ticks_spent(server_before, server_after)
    hits, misses = (
        after - before
        for after, before in zip(snapshot_lookups(server.metrics), lookups_before, strict=True)
    )
    pg_ticks = ticks_spent(pg_before, cpu_ticks(processes_named("postgres")))
    redis_ticks = ticks_spent(redis_before, cpu_ticks(processes_named("redis-server")))
    found = [text for text in done.stdout.splitlines() if text.startswith("WRK_JSON ")]
    if done.returncode != 0 or not found:
        raise BenchError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    result = json.loads(found[-1].removeprefix("WRK_JSON "))
    requests = result["requests"]
    busy = machine_after[0] - machine_before[0]
    total = machine_after[1] - machine_before[1]
    wrk_cpu = (wrk_after.ru_utime + wrk_after.ru_stime) - (
        wrk_before.ru_utime + wrk_before.ru_stime
    )
    seconds_run = result["duration_us"] / 1e6
    result.update(
        rps=requests / seconds_run,
        p50_ms=result["latency_us"]["p50"] / 1000,
        p99_ms=result["latency_us"]["p99"] / 1000,
        server_cpu_ms_per_request=server_ticks / CLOCK_TICKS * 1000 / max(requests, 1),
        loaded_percent=100 * misses / (hits + misses) if hits + misses else None,
        **{
            f"{kind}_mib": statistics.median(memory_mib(pid)[kind] for pid in workers_after)
            for kind in ("rss", "pss", "uss")
        },
        workers_restarted=sorted(set(workers) ^ set(workers_after)),
        cpu_percent_of_one_core={
            "machine": 100 * busy / total * os.cpu_count() if total else 0.0,
            "server": 100 * server_ticks / CLOCK_TICKS / wall,
            "wrk": 100 * wrk_cpu / wall,
            "postgres": 100 * pg_ticks / CLOCK_TICKS / wall,
            "redis": 100 * redis_ticks / CLOCK_TICKS / wall,
        },
    )
    cpu = result["cpu_percent_of_one_core"]
    # Whatever else ran on the machine meanwhile (another program's load skews the numbers).
    cpu["other"] = max(0.0, cpu["machine"] - sum(v for k, v in cpu.items() if k != "machine"))
    check_statuses(scenario, result)
    return result


def snapshot_lookups(metrics: Path) -> tuple[float, float]:
    """Return the job reads the server's workers have counted (`jobs.metrics`): answered from a
    cached snapshot, and from the job read from the database (past the staleness bound, or
    not cached)."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(metrics))
    counts = {"hit": 0.0, "miss": 0.0}
    for metric in registry.collect():
        for sample in metric.samples:
            if sample.name == "jobdesk_poll_snapshot_lookups_total":
                counts[sample.labels["result"]] += sample.value
    return counts["hit"], counts["miss"]


def check_statuses(scenario: Scenario, result: dict) -> None:
    """Fail loudly unless every response had the scenario's expected status."""
    status, errors = result["status"], result["errors"]
    expected = status["304"] if scenario.expected == 304 else status["2xx"]
    if expected != result["requests"] or status["other"] or any(errors.values()):
        raise BenchError(
            f"{scenario.name}: expected every response to be {scenario.expected}, got "
            f"{status['2xx']} 2xx, {status['304']} 304, {status['other']} other "
            f"of {result['requests']} (socket errors: {errors})"
        )


def measure(
    args, servers: dict[str, Server], all_scenarios: list[Scenario], data_dir: Path
) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    files = {}
    for scenario in all_scenarios:
        files[scenario.name] = data_dir / f"{scenario.name.replace(' ', '-')}.txt"
        files[scenario.name].write_text("\n".join(scenario.lines) + "\n")
    if args.warmup > 0:
        for scenario in all_scenarios:
            warm = run_wrk(
                args, servers[scenario.server], scenario, files[scenario.name], args.warmup
            )
            print(f"  warm-up  {scenario.name:<18} {warm['rps']:8,.0f} req/s")
    for rep in range(1, args.reps + 1):
        # Each repetition starts one scenario further on, so no scenario always runs at the
        # same point of a repetition (the machine's speed drifts over minutes).
        start = (rep - 1) % len(all_scenarios)
        for scenario in all_scenarios[start:] + all_scenarios[:start]:
            result = run_wrk(
                args, servers[scenario.server], scenario, files[scenario.name], args.seconds
            )
            scenario.runs.append(result)
            cpu = result["cpu_percent_of_one_core"]
            print(
                f"  run {rep}/{args.reps} {scenario.name:<18} {result['rps']:8,.0f} req/s"
                f"  p50 {result['p50_ms']:6.2f} ms  p99 {result['p99_ms']:6.2f} ms"
                f"  CPU % of a core: server {cpu['server']:3.0f}, wrk {cpu['wrk']:3.0f},"
                f" postgres {cpu['postgres']:3.0f}, other {cpu['other']:3.0f},"
                f" machine {cpu['machine']:3.0f}/"
                f"{100 * os.cpu_count()}"
            )


# --- Reporting ----------------------------------------------------------------------------


def summarise(all_scenarios: list[Scenario]) -> dict[str, dict]:
    """Return each scenario's medians over its runs, and its ratios to the references."""
    summary = {}
    for scenario in all_scenarios:
        runs = scenario.runs

        def median(key: str, runs=runs) -> float:
            return statistics.median(run[key] for run in runs)

        summary[scenario.name] = {
            "expected_status": scenario.expected,
            "note": scenario.note,
            "requests_per_line": len(scenario.lines),
            "rps": median("rps"),
            "p50_ms": median("p50_ms"),
            "p99_ms": median("p99_ms"),
            "server_cpu_ms_per_request": median("server_cpu_ms_per_request"),
            "loaded_percent": (
                None
                if runs[0]["loaded_percent"] is None
                else statistics.median(run["loaded_percent"] or 0.0 for run in runs)
            ),
            "rss_mib": median("rss_mib"),
            "pss_mib": median("pss_mib"),
            "uss_mib": median("uss_mib"),
            "cpu_percent_of_one_core": {
                key: statistics.median(run["cpu_percent_of_one_core"][key] for run in runs)
                for key in runs[0]["cpu_percent_of_one_core"]
            },
            "runs": runs,
        }
    for row in summary.values():
        row["ratio_to_bare"] = paired_ratio(row["runs"], summary["bare"]["runs"])
        row["ratio_to_celery_progress"] = paired_ratio(
            row["runs"], summary["celery-progress"]["runs"]
        )
        row["cpu_ratio_to_celery_progress"] = paired_ratio(
            summary["celery-progress"]["runs"], row["runs"], key="server_cpu_ms_per_request"
        )
    return summary


def paired_ratio(runs: list[dict], reference: list[dict], key: str = "rps") -> float:
    """Return the median over the repetitions of `key` (req/s) relative to the same
    repetition's reference: pairs run minutes apart at most, so the machine's drift cancels
    out."""
    return statistics.median(run[key] / ref[key] for run, ref in zip(runs, reference, strict=True))


def table(summary: dict[str, dict]) -> str:
    rows = [
        "| scenario | req/s (median) | p50 ms | p99 ms | CPU ms/req | loaded % | RSS MiB "
        "| PSS MiB | USS MiB | ratio to bare | ratio to celery-progress "
        "| CPU ratio to celery-progress |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in summary.items():
        loaded = row["loaded_percent"]
        rows.append(
            f"| {name} | {row['rps']:,.0f} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} "
            f"| {row['server_cpu_ms_per_request']:.2f} "
            f"| {'—' if loaded is None else f'{loaded:.1f}'} | {row['rss_mib']:.0f} "
            f"| {row['pss_mib']:.0f} | {row['uss_mib']:.0f} "
            f"| {row['ratio_to_bare']:.2f} | {row['ratio_to_celery_progress']:.2f} "
            f"| {row['cpu_ratio_to_celery_progress']:.2f} |"
        )
    notes = [f"- {name}: {row['note']}" for name, row in summary.items() if row["note"]]
    return "\n".join(rows + (["", *notes] if notes else []))


def load_table(summary: dict[str, dict]) -> str:
    rows = [
        "| scenario | machine | server | wrk | postgres | redis | other processes |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in summary.items():
        cpu = row["cpu_percent_of_one_core"]
        rows.append(
            f"| {name} | {cpu['machine']:.0f} | {cpu['server']:.0f} | {cpu['wrk']:.0f} "
            f"| {cpu['postgres']:.0f} | {cpu['redis']:.0f} | {cpu['other']:.0f} |"
        )
    busiest = max(row["cpu_percent_of_one_core"]["other"] for row in summary.values())
    if busiest > OTHER_LOAD_WARNING:
        rows.append(
            f"\nWARNING: other processes used up to {busiest:.0f}% of a core during the runs:"
            " the machine was not quiet, and the numbers above are lower than it can do."
        )
    return "\n".join(rows)


def git_revision() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    return done.stdout.strip() or "unknown"


# --- Main ---------------------------------------------------------------------------------


def close_connections() -> None:
    """Close the loader's database connections (if Django got that far)."""
    from django.apps import apps

    if apps.ready:
        from django.db import connections

        connections.close_all()


def raise_on_sigterm(_signum, _frame) -> None:
    raise SystemExit(143)


def main() -> None:
    args = parse_args()
    base_url = postgres_url()
    try:
        subprocess.run(["wrk", "--version"], capture_output=True, check=False)  # noqa: S607
    except FileNotFoundError:
        sys.exit(
            "wrk is missing: install it with `sudo apt-get install wrk` (or run `make bench`)."
        )
    # Ctrl-C and a plain kill stop the run and still clean up (even when started in the
    # background, where the shell leaves SIGINT ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, raise_on_sigterm)
    started = time.perf_counter()
    database_url = with_database(base_url, args.database)
    env = server_environment(database_url, args.redis_url)
    servers: dict[str, Server] = {}
    recreate_database(base_url, args.database)
    try:
        setup_django(env)
        collect_static()
        flush_redis(args.redis_url)
        print(f"Loading {args.jobs:,} jobs per family over {args.tenants} tenants ...")
        loaded = load(args)
        sample(loaded, args.sample)
        store_celery_results(loaded, args.celery_tasks)
        load_seconds = time.perf_counter() - started
        print(f"Loaded in {load_seconds:.0f} s.")
        close_connections()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        # jobdesk's server, and celery-progress' in one of its own: jobdesk's workers do not
        # hold Celery, which jobdesk does not use (`bench.celery_urls`).
        for name, settings_module in (
            ("jobdesk", "bench.settings"),
            ("celery", "bench.celery_settings"),
        ):
            servers[name] = Server(
                {
                    **env,
                    "DJANGO_SETTINGS_MODULE": settings_module,
                    "PROMETHEUS_MULTIPROC_DIR": f"{env['PROMETHEUS_MULTIPROC_DIR']}-{name}",
                },
                ARTIFACTS / f"poll-{args.server}-{name}.log",
                workers=args.workers,
                worker_class=args.worker_class,
                threads=args.server_threads,
                server=args.server,
            )
        for server in servers.values():
            server.wait_ready()
        server = servers["jobdesk"]
        print(f"{args.server}: {server.describe()} on 127.0.0.1:{server.port}; learning ETags")
        all_scenarios = scenarios(loaded, server.port)
        print(
            f"wrk -t{args.threads} -c{args.connections}: {len(all_scenarios)} scenarios,"
            f" {args.warmup:g} s warm-up each, then {args.reps} x {args.seconds:g} s interleaved"
        )
        measure(args, servers, all_scenarios, ARTIFACTS / "poll-data")
        summary = summarise(all_scenarios)
        total_seconds = time.perf_counter() - started
        print("\nMedians over the repetitions (req/s, latency, CPU/request, memory/worker):\n")
        print(table(summary))
        print("\nCPU, in % of one core (the machine has", os.cpu_count(), "cores), medians:\n")
        print(load_table(summary))
        report = {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "revision": git_revision(),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "options": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "load_seconds": round(load_seconds, 1),
            "total_seconds": round(total_seconds, 1),
            "scenarios": summary,
        }
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nWrote {args.output} ({total_seconds / 60:.1f} min in all).")
    except BenchError as error:
        sys.exit(f"poll benchmark failed: {error}")
    except KeyboardInterrupt:
        sys.exit("poll benchmark interrupted")
    finally:
        for server in servers.values():
            server.stop()
        if not args.keep:
            close_connections()
            recreate_database(base_url, args.database, drop_only=True)
            try:
                flush_redis(args.redis_url)
            except Exception as error:  # cleanup must not hide the real error
                print(f"could not flush {args.redis_url}: {error}", file=sys.stderr)


if __name__ == "__main__":
    main()
