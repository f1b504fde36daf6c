"""What each pytest-xdist worker of a parallel run has to itself besides its test database.

`make test` runs the suite in one worker process per core. pytest-django gives each worker a
test database of its own (its name ends in the worker's id, `gw0`, `gw1`, ...) and pytest a
temporary folder of its own; the rest of what the processes would share is divided here.
Each worker starts with environment variables of its own, set before Django reads its
settings, so its settings and every process it starts (task workers, servers, `manage.py`
in a subprocess) follow them as they would in a run on one process:

- `JOBDESK_CACHE_KEY_PREFIX` gains the worker's id: each test empties the cache under its
  prefix (`tests.conftest.clear_cache`), and must not empty another worker's entries;
- `REDIS_URL`, when set, names the next Redis database for each worker (gw0 keeps the one
  given): RQ's queues live there under names no prefix changes (`rq:queue:default`), and one
  worker's RQ worker must not run, nor its tests empty, the jobs of another's;
- `JOBDESK_TEST_PORTS`, when set, is cut in one slice per worker, and
  `JOBDESK_TEST_PROXY_PORT` moves up by two ports (its proxies' two) per worker;
- `JOBDESK_ASGI_TEST_PORTS` (the ASGI tests' servers pick the first free port of it, so two
  workers starting one at once would pick the same) is always cut in one slice per worker.

Without `REDIS_URL`, RQ's queues are in Redis database 0: `rq_database_of_this_worker` in
`tests/conftest.py` moves each worker's to a database of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

# The suite's cache key prefix when the environment sets none (pyproject.toml's `env`).
DEFAULT_CACHE_KEY_PREFIX = "jobdesk-test"
# Ports of JOBDESK_TEST_PROXY_PORT on that the fault tests' proxies take (database, cache).
PROXY_PORTS = 2
# Where the ASGI tests' servers listen when JOBDESK_ASGI_TEST_PORTS names no range.
ASGI_TEST_PORTS = "18400-18499"


def worker_environment(
    worker: str, index: int, count: int, environ: Mapping[str, str]
) -> dict[str, str]:
    """Return the variables the `index`-th of `count` workers (id `worker`) starts with."""
    prefix = environ.get("JOBDESK_CACHE_KEY_PREFIX", "").strip() or DEFAULT_CACHE_KEY_PREFIX
    env = {"JOBDESK_CACHE_KEY_PREFIX": f"{prefix}-{worker}"}
    if redis_url := environ.get("REDIS_URL", "").strip():
        env["REDIS_URL"] = redis_database_url(redis_url, offset=index)
    if ports := environ.get("JOBDESK_TEST_PORTS", "").strip():
        env["JOBDESK_TEST_PORTS"] = port_range_slice(ports, index, count)
    if proxy_port := environ.get("JOBDESK_TEST_PROXY_PORT", "").strip():
        env["JOBDESK_TEST_PROXY_PORT"] = str(int(proxy_port) + PROXY_PORTS * index)
    asgi_ports = environ.get("JOBDESK_ASGI_TEST_PORTS", "").strip() or ASGI_TEST_PORTS
    env["JOBDESK_ASGI_TEST_PORTS"] = port_range_slice(asgi_ports, index, count)
    return env


def redis_database_url(url: str, *, offset: int) -> str:
    """Return `url` with its Redis database number (0 when it names none) plus `offset`."""
    parts = urlsplit(url)
    database = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{database + offset}"))


def port_range_slice(ports: str, index: int, count: int) -> str:
    """Return the `index`-th of `count` equal slices of a port range such as `18300-18399`."""
    first, _, last = ports.partition("-")
    first_port, last_port = int(first), int(last or first)
    size = (last_port - first_port + 1) // count
    if size < 1:
        raise ValueError(f"JOBDESK_TEST_PORTS={ports} has fewer ports than the {count} workers.")
    start = first_port + index * size
    return f"{start}-{start + size - 1}"
