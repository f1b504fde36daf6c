"""gunicorn's settings for jobdesk (make serve, Procfile): `gunicorn -c config/gunicorn.py`.

Each value can be changed with the environment variable named beside it; gunicorn's own
command-line options win over this file.
"""

import gc
import multiprocessing
import os

from config.gunicorn_logging import Logger
from config.gunicorn_worker import GuardedThreadWorker
from ops.memory import limit_malloc_arenas

# Where to listen: HOST and PORT, as for `make run`.
bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
# Worker processes: two per core, plus one; each answers up to `threads` requests at once.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 4))
# Threaded workers that never wait on a slow client (config/gunicorn_worker.py): a request
# gets a thread once its headers are in, within GUNICORN_HEADER_TIMEOUT of its first byte,
# and a body of up to JOBDESK_MAX_BODY_BYTES is read in full within GUNICORN_BODY_TIMEOUT
# before the application runs; otherwise 408 and the connection is closed.
worker_class = GuardedThreadWorker
GuardedThreadWorker.header_timeout = float(os.environ.get("GUNICORN_HEADER_TIMEOUT", 10))
GuardedThreadWorker.body_timeout = float(os.environ.get("GUNICORN_BODY_TIMEOUT", 10))
GuardedThreadWorker.buffered_body_bytes = int(os.environ.get("JOBDESK_MAX_BODY_BYTES", 1048576))
# A worker whose event loop stops answering for this long is killed and replaced (and
# logged). Threaded workers are not killed for one slow request: the database's and
# Redis' own timeouts bound those.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
# On stop or reload, workers get this long to finish the requests they hold.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 30))
# Polling clients reuse their connection for this long between requests.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 5))
# Load the application once, before the workers fork: it fails at start (no static files,
# bad settings) instead of in each worker, and the workers share its memory.
preload_app = True
# No control socket: its default path in $HOME would be shared by every gunicorn of the user;
# signals manage this one (TERM stops, HUP reloads).
control_socket_disable = True
# Access log on standard output, with the time each request took (microseconds). Its lines
# and the error log's mask a Canvas key sent as `?access_token=`, and each line computes only
# the atoms the format names (config/gunicorn_logging.py).
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(D)sus "%(a)s"'
logger_class = Logger
errorlog = "-"
# A worker's threads share this many of glibc's malloc arenas (ops/memory.py; 0 leaves
# glibc's default, as does MALLOC_ARENA_MAX in the environment).
malloc_arenas = int(os.environ.get("GUNICORN_MALLOC_ARENAS", 2))
# Workers' heartbeat files in memory, not on a disk that may stall.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
# The TLS-terminating proxy in front sets X-Forwarded-Proto: gunicorn believes it from the same
# proxies as jobdesk (JOBDESK_TRUSTED_PROXIES, tenancy.proxies), none by default.
forwarded_allow_ips = os.environ.get(
    "FORWARDED_ALLOW_IPS", os.environ.get("JOBDESK_TRUSTED_PROXIES", "")
)


def pre_fork(server, worker) -> None:
    """Keep the preloaded application's objects out of the workers' garbage collections: a
    collection writes to every object it visits, which would copy the pages the workers share
    with the master into each worker."""
    gc.freeze()


def post_fork(server, worker) -> None:
    """Bound the malloc arenas of the new worker before its threads start."""
    limit_malloc_arenas(malloc_arenas)


def child_exit(server, worker) -> None:
    """Drop a stopped worker's live values from the shared metrics (jobs.metrics)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
