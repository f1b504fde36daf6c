"""gunicorn's settings for jobdesk (make serve, Procfile): `gunicorn -c config/gunicorn.py`.

Each value can be changed with the environment variable named beside it; gunicorn's own
command-line options win over this file.
"""

import gc
import multiprocessing
import os

# Where to listen: HOST and PORT, as for `make run`.
bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
# Sync workers: each answers one request at a time (polls are short); two per core, plus one.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
# A request still running after this long is killed with its worker (and logged).
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
# Access log on standard output, with the time each request took (microseconds).
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(D)sus "%(a)s"'
errorlog = "-"
# Workers' heartbeat files in memory, not on a disk that may stall.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
# The TLS-terminating proxy in front sets X-Forwarded-Proto (settings.SECURE_PROXY_SSL_HEADER).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")


def pre_fork(server, worker) -> None:
    """Keep the preloaded application's objects out of the workers' garbage collections: a
    collection writes to every object it visits, which would copy the pages the workers share
    with the master into each worker."""
    gc.freeze()


def child_exit(server, worker) -> None:
    """Drop a stopped worker's live values from the shared metrics (jobs.metrics)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
