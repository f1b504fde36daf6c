"""Soak benchmark: the production set-up under a mixed load for minutes; does anything degrade?

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \
    .venv/bin/python bench/soak.py [--seconds 180] [--clients 8] [--port 0]
    [--web-concurrency 2] [--database jobdesk_soak_bench] [--keep]

It creates a scratch database (`jobdesk_soak_bench`, dropped and created afresh) next to the
one DATABASE_URL names, migrates it, collects the static files into a temporary folder, and
loads two tenants, each with an `admin` member and its API token, a ROMA instance and jobs of
every family. Then it starts what `make serve` starts, in production settings: gunicorn from
config/gunicorn.py (its worker class, threads and timeouts), a task worker
(`manage.py task_worker`) and the scheduler (`manage.py run_maintenance`), sharing Redis under
a key prefix of their own.

`--clients` threads then drive a mix for `--seconds`: polls of every family (a third of them
conditional, with the ETag last seen), lists, producers' writes (progress, messages,
metadata), creates of every family, cancels (Canvas, LRO) and, once every few seconds, a ROMA
export that the task worker runs, across both tenants. It prints a Markdown table: requests
and throughput per kind, answers by status, p50/p99 latency, and the RSS of every process
before and after. It fails if any request got a 5xx or no answer. This is a measurement, not
a test.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from random import Random

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)
elif str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.admin_changelists import postgres_url, recreate_database, with_database  # noqa: E402
from bench.poll import children, free_port, rss_mib  # noqa: E402

HTTPS = {"X-Forwarded-Proto": "https"}  # as the TLS-terminating proxy in front would say
JOBS_PER_FAMILY = 200  # per tenant, at the start
EXPORT_EVERY_SECONDS = 5  # a ROMA export (4 s of the task worker's time) at most this often
# The mix: kind of request -> its weight.
MIX = {"poll": 55, "conditional poll": 15, "list": 5, "write": 12, "create": 8, "cancel": 5}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--seconds", type=float, default=180, help="length of the soak (default 180)")
    add("--clients", type=int, default=8, help="client threads (default 8)")
    add("--port", type=int, default=0, help="gunicorn's port (default: a free one)")
    add("--web-concurrency", type=int, default=2, help="gunicorn worker processes (default 2)")
    add("--database", default="jobdesk_soak_bench", help="scratch database to create")
    add("--keep", action="store_true", help="keep the database afterwards")
    return parser.parse_args()


# --- The set-up -----------------------------------------------------------------------------


def environment(args: argparse.Namespace, database_url: str, static: str) -> dict[str, str]:
    """Return production settings for every process of the set-up."""
    from cryptography.fernet import Fernet

    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    port = args.port or free_port()
    env.update(
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_STATIC_ROOT=static,
        DJANGO_ENV_FILE="",
        JOBDESK_CREDENTIALS_KEYS=Fernet.generate_key().decode(),
        JOBDESK_CACHE_KEY_PREFIX=f"jobdesk-soak-{port}",
        JOBDESK_ASSET_JOB_HANDLERS=json.dumps(
            {"exportAsset": "asset_jobs.tasks.demo_export_assets"}
        ),
        DATABASE_URL=database_url,
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        HOST="127.0.0.1",
        PORT=str(port),
        WEB_CONCURRENCY=str(args.web_concurrency),
        PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
    )
    return env


def manage(env: dict[str, str], *args: str) -> str:
    return subprocess.run(  # noqa: S603 - our own command line
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


LOAD = """
import json
from django.contrib.auth.models import User
from asset_jobs.services import asset_job_create, instance_create
from async_status.services import async_status_create
from lro.services import operation_create
from progress.services import progress_create, progress_start
from tenancy.services import membership_grant, tenant_create, token_issue
tenants = []
for slug in ("acme", "globex"):
    tenant = tenant_create(slug=slug, name=slug)
    user = User.objects.create(username=f"{slug}-admin")
    membership_grant(user=user, tenant=tenant, role_name="admin")
    instance = instance_create(tenant=tenant, instance_id=f"{slug}-instance", name=slug)
    jobs = {"progress": [], "async_status": [], "asset_jobs": [], "lro": []}
    for number in range(COUNT):
        job = progress_create(tenant=tenant, tag="soak", context_type="Account", context_id=1)
        jobs["progress"].append(progress_start(job).pk)
        jobs["async_status"].append(async_status_create(tenant=tenant, message="soak").pk)
        jobs["asset_jobs"].append(asset_job_create(instance=instance, type="importAsset").pk)
        jobs["lro"].append(operation_create(tenant=tenant).pk)
    tenants.append({
        "key": token_issue(user=user, tenant=tenant, name="soak")[1],
        "project": tenant.project_id,
        "instance": instance.instance_id,
        "jobs": jobs,
    })
print(json.dumps(tenants, default=str))
"""


class Processes:
    """The set-up's processes, each in a process group of its own, logging to a folder."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs, self.running = env, logs, {}

    def start(self, name: str, command: list[str]) -> None:
        with (self.logs / f"{name}.log").open("w") as log:
            self.running[name] = subprocess.Popen(  # noqa: S603 - our own command line
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def rss(self) -> dict[str, float]:
        """Return the RSS of each process (gunicorn's workers one by one), in MiB."""
        found = {}
        for name, process in self.running.items():
            found[f"{name} master" if name == "gunicorn" else name] = rss_mib(process.pid)
            for number, child in enumerate(children(process.pid), 1):
                found[f"{name} worker {number}"] = rss_mib(child)
        return found

    def stop(self) -> None:
        for process in self.running.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.running.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def wait_ready(port: int, processes: Processes, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(process.poll() is not None for process in processes.running.values()):
            sys.exit(f"A process of the set-up exited: see {processes.logs}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/readyz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit(f"jobdesk did not get ready within {timeout:.0f} s: see {processes.logs}")


# --- The load -------------------------------------------------------------------------------


@dataclass
class Tenant:
    key: str
    project: str
    instance: str
    jobs: dict[str, list]


@dataclass
class Results:
    """Every answer: its kind, status and latency (thread-safe)."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, status: int | str, seconds: float) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            self.statuses[kind, status] += 1


class Client:
    """One client thread's connection and choices."""

    def __init__(self, port: int, tenants: list[Tenant], seed: int, gate: ExportGate) -> None:
        self.port, self.tenants, self.gate = port, tenants, gate
        self.random = Random(seed)  # noqa: S311 - a repeatable load, not a secret
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.etags: dict[str, str] = {}

    def request(
        self, method: str, path: str, tenant: Tenant, body=None, *, conditional: bool = False
    ) -> tuple[int, bytes]:
        header = "X-Auth-Token" if path.startswith("/v2/") else "Authorization"
        value = tenant.key if header == "X-Auth-Token" else f"Bearer {tenant.key}"
        headers = {**HTTPS, header: value, "Content-Type": "application/json"}
        if conditional and path in self.etags:
            headers["If-None-Match"] = self.etags[path]
        payload = None if body is None else json.dumps(body)
        try:
            self.connection.request(method, path, body=payload, headers=headers)
            response = self.connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()  # reconnects on the next request
            raise
        if etag := response.getheader("ETag"):
            self.etags[path] = etag
        return response.status, data

    def job_path(self, tenant: Tenant, family: str, job_id) -> str:
        return {
            "progress": f"/api/v1/progress/{job_id}",
            "async_status": f"/api/5.0/async_status/{job_id}",
            "asset_jobs": f"/v2/{tenant.project}/instances/{tenant.instance}/assets/jobs/{job_id}",
            "lro": f"/v1/projects/{tenant.project}/operations/{job_id}",
        }[family]

    def pick(self) -> tuple[Tenant, str, object]:
        tenant = self.random.choice(self.tenants)
        family = self.random.choice(list(tenant.jobs))
        return tenant, family, self.random.choice(tenant.jobs[family])

    def poll(self, *, conditional: bool = False):
        tenant, family, job_id = self.pick()
        path = self.job_path(tenant, family, job_id)
        return self.request("GET", path, tenant, conditional=conditional)

    def conditional_poll(self):
        """Poll with the ETag last seen for the job, as a client that keeps it does."""
        return self.poll(conditional=True)

    def list(self):
        tenant = self.random.choice(self.tenants)
        path = self.random.choice(
            [
                "/api/v1/progress?per_page=20",
                f"/v2/{tenant.project}/instances/{tenant.instance}/assets/jobs?limit=20",
                f"/v1/projects/{tenant.project}/operations?pageSize=20",
            ]
        )
        return self.request("GET", path, tenant)

    def write(self):
        tenant, family, job_id = self.pick()
        path = self.job_path(tenant, family, job_id)
        body = {
            "progress": {"completion": self.random.randint(1, 99), "message": "soaking"},
            "async_status": {"status": "PENDING", "message": "soaking"},
            "asset_jobs": {"progress_percent": round(self.random.random(), 2)},
            "lro": {"metadata": {"step": self.random.randint(1, 9)}},
        }[family]
        return self.request("PATCH" if family == "lro" else "PUT", path, tenant, body)

    def create(self):
        tenant = self.random.choice(self.tenants)
        if self.gate.due():
            path = f"/v2/{tenant.project}/instances/{tenant.instance}/assets/export"
            body = {"apps": [{"id": "soak"}], "tasks": [{"id": "soak"}]}
            return self.request("POST", path, tenant, body)
        family = self.random.choice(list(tenant.jobs))
        path, body = {
            "progress": (
                "/api/v1/progress",
                {"tag": "soak", "context_type": "Account", "context_id": 1},
            ),
            "async_status": ("/api/5.0/async_status", {"message": "soak"}),
            "asset_jobs": (
                f"/v2/{tenant.project}/instances/{tenant.instance}/assets/jobs",
                {"type": "deleteAsset"},
            ),
            "lro": (f"/v1/projects/{tenant.project}/operations", {"metadata": {}}),
        }[family]  # fmt: skip
        status, data = self.request("POST", path, tenant, body)
        if status < 300 and (job_id := created_id(json.loads(data))):
            tenant.jobs[family].append(job_id)
        return status, data

    def cancel(self):
        tenant = self.random.choice(self.tenants)
        if self.random.random() < 0.5:
            job_id = self.random.choice(tenant.jobs["progress"])
            return self.request("POST", f"/api/v1/progress/{job_id}/cancel", tenant, {})
        job_id = self.random.choice(tenant.jobs["lro"])
        path = f"/v1/projects/{tenant.project}/operations/{job_id}:cancel"
        return self.request("POST", path, tenant, {})

    def run(self, until: float, results: Results) -> None:
        kinds, weights = list(MIX), list(MIX.values())
        while time.monotonic() < until:
            kind = self.random.choices(kinds, weights)[0]
            action = getattr(self, kind.replace(" ", "_"))
            started = time.monotonic()
            try:
                status, _ = action()
            except (OSError, http.client.HTTPException) as error:
                status = type(error).__name__
            results.add(kind, status, time.monotonic() - started)


def created_id(body: dict):
    """Return the new job's id from a create's answer (Traffic Ops' names it only in a header)."""
    created = body.get("response", body)
    if "name" in created:
        return created["name"].split("/")[-1]
    return created.get("id") or created.get("job_id")


class ExportGate:
    """Let one ROMA export through every EXPORT_EVERY_SECONDS, whichever client asks."""

    def __init__(self) -> None:
        self.next, self.lock = 0.0, threading.Lock()

    def due(self) -> bool:
        with self.lock:
            if time.monotonic() < self.next:
                return False
            self.next = time.monotonic() + EXPORT_EVERY_SECONDS
            return True


# --- The report -----------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def row(label: str, latencies: list[float], seconds: float, statuses: str) -> str:
    """Return one line of the table: count, rate, statuses, p50 and p99 in ms."""
    p50, p99 = statistics.median(latencies), percentile(latencies, 0.99)
    return (
        f"| {label} | {len(latencies):,} | {len(latencies) / seconds:.1f} | {statuses} "
        f"| {1000 * p50:.1f} | {1000 * p99:.1f} |"
    )


def report(results: Results, seconds: float, before: dict, after: dict) -> bool:
    """Print the tables; return False if any answer was a 5xx or none came."""
    print("| kind | requests | req/s | statuses | p50 (ms) | p99 (ms) |")
    print("|---|---:|---:|---|---:|---:|")
    every, totals = [], Counter()
    for (_, status), count in results.statuses.items():
        totals[status] += count
    for kind in MIX:
        every += results.latencies[kind]
        counts = sorted(
            (str(status), n) for (of, status), n in results.statuses.items() if of == kind
        )
        statuses = ", ".join(f"{status}: {n:,}" for status, n in counts)
        print(row(kind, results.latencies[kind], seconds, statuses))
    print(row("all", every, seconds, ""))
    answers = sorted((str(status), n) for status, n in totals.items())
    print("\nAnswers by status: " + ", ".join(f"{status}: {n:,}" for status, n in answers))
    print("\n| process | RSS before (MiB) | RSS after (MiB) |\n|---|---:|---:|")
    for name in sorted(set(before) | set(after)):
        print(f"| {name} | {before.get(name, 0):.0f} | {after.get(name, 0):.0f} |")
    return not [status for status in totals if not isinstance(status, int) or status >= 500]


def main() -> None:
    args = parse_args()
    base_url = postgres_url()
    recreate_database(base_url, args.database)
    processes = None
    with tempfile.TemporaryDirectory(prefix="jobdesk-soak-") as folder:
        env = environment(args, with_database(base_url, args.database), f"{folder}/static")
        try:
            print(f"Loading {args.database} ...", flush=True)
            manage(env, "migrate", "--no-input", "-v0")
            manage(env, "collectstatic", "--no-input", "-v0")
            script = LOAD.replace("COUNT", str(JOBS_PER_FAMILY))
            tenants = [
                Tenant(**loaded)
                for loaded in json.loads(manage(env, "shell", "-c", script).splitlines()[-1])
            ]
            processes = Processes(env, Path(folder))
            processes.start("gunicorn", ["gunicorn", "-c", "config/gunicorn.py", "config.wsgi"])
            processes.start("task worker", [sys.executable, "manage.py", "task_worker"])
            processes.start("scheduler", [sys.executable, "manage.py", "run_maintenance"])
            port = int(env["PORT"])
            wait_ready(port, processes)
            before = processes.rss()
            print(f"Soaking for {args.seconds:g} s with {args.clients} clients ...", flush=True)
            results, gate, until = Results(), ExportGate(), time.monotonic() + args.seconds
            threads = [
                threading.Thread(
                    target=Client(port, tenants, seed, gate).run, args=(until, results)
                )
                for seed in range(args.clients)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            ok = report(results, args.seconds, before, processes.rss())
        finally:
            if processes is not None:
                processes.stop()
            if not args.keep:
                recreate_database(base_url, args.database, drop_only=True)
    if not ok:
        sys.exit("Some requests got a 5xx or no answer.")


if __name__ == "__main__":
    main()
