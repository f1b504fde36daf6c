"""jobdesk settings: one module, driven by environment variables.

Development defaults are safe and need no set-up (SQLite file, DEBUG only when asked for).
A development checkout keeps its own variables in `.env` (see `read_env_file`). With DEBUG
off, the service refuses to start without a real secret key and allowed hosts.
"""

import base64
import json
import os
from pathlib import Path

import dj_database_url
import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_file_to_read() -> Path | None:
    """Return the `.env` file to read, if any.

    DJANGO_ENV_FILE names one (relative to the checkout), or none when empty. Otherwise a
    development checkout's `.env` (written by `make install`) is read, unless the environment
    brings its own DJANGO_SECRET_KEY: a deployment must, and it never reads a `.env` that it
    did not ask for (a checkout's `.env` turns DEBUG on).
    """
    named = os.environ.get("DJANGO_ENV_FILE")
    if named is not None:
        if not named.strip():
            return None
        path = BASE_DIR / named.strip()
        if not path.is_file():
            raise ImproperlyConfigured(f"DJANGO_ENV_FILE names {path}, which is not a file.")
        return path
    if os.environ.get("DJANGO_SECRET_KEY", "").strip():
        return None
    path = BASE_DIR / ".env"
    return path if path.is_file() else None


def read_env_file() -> None:
    """Add the variables of the `.env` file to the environment; real variables win."""
    path = env_file_to_read()
    if path is not None:
        environ.Env.read_env(path, overwrite=False)


read_env_file()

TRUE_WORDS = {"1", "true", "yes", "on"}


def env_flag(name: str, *, default: bool = False) -> bool:
    """Read a boolean environment variable ("1", "true", "yes", "on" are true)."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in TRUE_WORDS


def env_list(name: str) -> list[str]:
    """Read a comma-separated environment variable into a list of non-empty items."""
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


DEBUG = env_flag("DJANGO_DEBUG")

# A development key is only ever used with DEBUG on; production must bring its own.
DEVELOPMENT_SECRET_KEY = "django-insecure-jobdesk-development-only"  # noqa: S105
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "").strip()
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off (a long random value, e.g. "
            "from `python -c 'import secrets; print(secrets.token_urlsafe(50))'`)."
        )
    SECRET_KEY = DEVELOPMENT_SECRET_KEY
elif not DEBUG and (SECRET_KEY == DEVELOPMENT_SECRET_KEY or len(SECRET_KEY) < 32):
    raise ImproperlyConfigured("DJANGO_SECRET_KEY is too weak: use at least 32 random characters.")

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")
if not ALLOWED_HOSTS:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_ALLOWED_HOSTS must be set when DJANGO_DEBUG is off "
            "(comma-separated host names)."
        )
    ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]", "testserver"]
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

# Access key secrets (AK/SK) are stored encrypted with these Fernet keys: the first encrypts,
# any decrypts, so a key can be rotated (docs/operators.md). As with SECRET_KEY, the
# development key is only ever used with DEBUG on.
DEVELOPMENT_CREDENTIALS_KEY = "am9iZGVzay1kZXZlbG9wbWVudC1jcmVkZW50aWFscyE="
JOBDESK_CREDENTIALS_KEYS = env_list("JOBDESK_CREDENTIALS_KEYS")
if not JOBDESK_CREDENTIALS_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured(
            "JOBDESK_CREDENTIALS_KEYS must be set when DJANGO_DEBUG is off (comma-separated Fernet "
            "keys, e.g. from `python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'`)."
        )
    JOBDESK_CREDENTIALS_KEYS = [DEVELOPMENT_CREDENTIALS_KEY]
elif not DEBUG and DEVELOPMENT_CREDENTIALS_KEY in JOBDESK_CREDENTIALS_KEYS:
    raise ImproperlyConfigured("JOBDESK_CREDENTIALS_KEYS holds the development key: use your own.")
for position, credentials_key in enumerate(JOBDESK_CREDENTIALS_KEYS, 1):
    try:
        valid_key = len(base64.urlsafe_b64decode(credentials_key.encode("ascii"))) == 32
    except (ValueError, UnicodeError):
        valid_key = False
    if not valid_key:
        # The position, never the value: a key does not belong in a log.
        raise ImproperlyConfigured(
            f"JOBDESK_CREDENTIALS_KEYS: key {position} is not a Fernet key "
            "(32 bytes, URL-safe base64)."
        )

INSTALLED_APPS = [
    "jobs.apps.JobdeskAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks",
    "django_tasks_db",
    "tenancy",
    "jobs",
    "ops",
    "progress",
    "async_status",
    "asset_jobs",
    "lro",
    "webhooks",
]

MIDDLEWARE = [
    # First, so it times every request and counts the ones later middleware answers.
    "ops.middleware.RequestMetricsMiddleware",
    # Then who the client is: proxy headers only from JOBDESK_TRUSTED_PROXIES.
    "tenancy.proxies.TrustedProxyMiddleware",
    # Then: a job read with `?wait=` is held here until its job changes (jobs.watch).
    "jobs.middleware.PollWaitMiddleware",
    # Then: a GET job read whose token and snapshot are cached is answered here, without the
    # middleware below, whose effect on its answer it replays (jobs.middleware).
    "jobs.middleware.PollFastPathMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Job timelines name the request's user as who made a change (an API token's user too).
    "jobs.timeline.TimelineActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SQLite file by default; DATABASE_URL (e.g. postgres://user@127.0.0.1:5432/jobdesk) switches.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DJANGO_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
# A database that does not answer fails a new connection after this long (/readyz says so)
# instead of holding the request until the operating system gives up; a statement fails after
# JOBDESK_DATABASE_STATEMENT_TIMEOUT_SECONDS (0: no limit), ended by the server, or by jobdesk
# when the server does not answer at all (config/postgresql). Either way the API answers 503
# with Retry-After (docs/faults.md).
JOBDESK_DATABASE_STATEMENT_TIMEOUT_SECONDS = float(
    os.environ.get("JOBDESK_DATABASE_STATEMENT_TIMEOUT_SECONDS", 5)
)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "config.postgresql"
    database_options = DATABASES["default"].setdefault("OPTIONS", {})
    database_options.setdefault(
        "connect_timeout", int(os.environ.get("JOBDESK_DATABASE_CONNECT_TIMEOUT_SECONDS", 3))
    )
    if JOBDESK_DATABASE_STATEMENT_TIMEOUT_SECONDS > 0:
        statement_timeout_ms = round(JOBDESK_DATABASE_STATEMENT_TIMEOUT_SECONDS * 1000)
        database_options.setdefault("options", f"-c statement_timeout={statement_timeout_ms}")
# Under ASGI (config.asgi sets it) every request runs in a thread of its own, and a thread's
# persistent connection outlives nothing but leaks: the process shares a pool of this many
# PostgreSQL connections instead (a request waits for one when all are in use).
DATABASE_POOL_SIZE = int(os.environ.get("JOBDESK_DATABASE_POOL_SIZE", "").strip() or 0)
if DATABASE_POOL_SIZE and DATABASES["default"]["ENGINE"] == "config.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # a closed connection goes back to the pool
    DATABASES["default"]["OPTIONS"]["pool"] = {
        "min_size": 1,
        "max_size": DATABASE_POOL_SIZE,
        "timeout": int(os.environ.get("JOBDESK_DATABASE_POOL_TIMEOUT_SECONDS", 30)),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The cache holds resolved API tokens and job snapshots (docs/development/architecture.md).
# Redis is shared by every process, so a change is seen by the very next request anywhere; the
# in-process default sees other processes' changes only as entries expire (timeouts below).
REDIS_URL = os.environ.get("REDIS_URL", "").strip()
CACHE_KEY_PREFIX = os.environ.get("JOBDESK_CACHE_KEY_PREFIX", "").strip()
# A Redis that stops answering fails a cache call after this long (the database answers
# instead), rather than holding every request.
REDIS_TIMEOUT_SECONDS = float(os.environ.get("JOBDESK_REDIS_TIMEOUT_SECONDS", 0.5))
# Redis connections a process keeps at most for its cache, all its threads together.
REDIS_MAX_CONNECTIONS = int(os.environ.get("JOBDESK_REDIS_MAX_CONNECTIONS", "").strip() or 100)
# Job changes (docs/api/polling.md#waiting-for-a-change) travel on this Redis pub/sub channel
# when REDIS_URL is set, and inside each process otherwise.
JOBDESK_EVENTS_CHANNEL = os.environ.get("JOBDESK_EVENTS_CHANNEL", "").strip() or (
    f"{CACHE_KEY_PREFIX}:jobdesk:events" if CACHE_KEY_PREFIX else "jobdesk:events"
)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "tenancy.cache_backends.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {
                "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
                "socket_timeout": REDIS_TIMEOUT_SECONDS,
                # One pool per process, shared by its threads (tenancy.cache_backends): past
                # its size a thread waits for a connection (as long as a call may take), and
                # a call that still finds none fails soft like any other cache error.
                "pool_class": "redis.BlockingConnectionPool",
                "max_connections": REDIS_MAX_CONNECTIONS,
                "timeout": REDIS_TIMEOUT_SECONDS,
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {"MAX_ENTRIES": 50_000},
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# `manage.py collectstatic` fills it; production serves it through whitenoise.
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", "").strip() or BASE_DIR / "staticfiles")
MEDIA_ROOT = Path(os.environ.get("JOBDESK_MEDIA_ROOT", BASE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# With DEBUG off, pages name static files by the hashed names `collectstatic` records in its
# manifest: without it they cannot be rendered, so `check --deploy` and the WSGI application
# refuse to start (`ops.checks`). Whitenoise also serves files from the apps' static folders.
WHITENOISE_USE_FINDERS = True
WHITENOISE_MANIFEST_STRICT = False

# Bodies larger than this are refused before any view parses them.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("JOBDESK_MAX_BODY_BYTES", 1024 * 1024))

# Transport security: on by default in production. A TLS-terminating proxy says the scheme in
# X-Forwarded-Proto, believed only from JOBDESK_TRUSTED_PROXIES (IPs or CIDRs, comma-separated;
# none by default): tenancy.proxies copies it into the request key named here.
JOBDESK_TRUSTED_PROXIES = [
    entry.strip()
    for entry in os.environ.get("JOBDESK_TRUSTED_PROXIES", "").split(",")
    if entry.strip()
]
SECURE_PROXY_SSL_HEADER = ("JOBDESK_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_flag("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
# Probes and Prometheus talk to a process directly, over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = 0 if DEBUG else int(os.environ.get("DJANGO_HSTS_SECONDS", 31536000))
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LOGIN_URL = "admin:login"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenancy.authentication.BearerTokenAuthentication",
        "tenancy.authentication.XAuthTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "jobs.parsers.BoundedJSONParser",
        "jobs.parsers.BoundedFormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "jobdesk API",
    "DESCRIPTION": (
        "Asynchronous job progress, served through Canvas LMS-, Traffic Ops- and "
        "ROMA Connect-compatible API families."
    ),
    "VERSION": "1.0.0",
    # The docs pages and the schema describe the API, never a tenant's data: anyone may read them.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SERVE_INCLUDE_SCHEMA": False,
    # Separate request and response components, so generated clients type each direction exactly.
    "COMPONENT_SPLIT_REQUEST": True,
    # One tag per job family, and each family's enums by a name of its own, come from the
    # family registry (jobs.schema).
    "ENUM_NAME_OVERRIDES": {},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "jobs.schema.family_tags",
        "webhooks.schema.webhook_tag",
    ],
    # Canvas' optional trailing slash is accepted, but the schema names each path without it.
    "PREPROCESSING_HOOKS": ["jobs.schema.drop_optional_trailing_slash"],
    # Served from drf-spectacular-sidecar's static files: the docs pages need no network.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {
        "deepLinking": True,
        "displayOperationId": True,
        # Swagger UI would otherwise send the schema to an online validator.
        "validatorUrl": None,
    },
}

# How long an API token's `last_used_at` may lag behind its real last use.
JOBDESK_TOKEN_LAST_USED_INTERVAL_SECONDS = 60


def env_seconds(name: str, default: int) -> int:
    """Read a whole number of seconds (0 or more) from the environment."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise ImproperlyConfigured(f"{name} must be a whole number of seconds, not {raw!r}.")
    return int(raw)


# Poll hot path (docs/api/polling.md). A resolved token is cached this long; revocation and
# role, membership, user or tenant changes reach a shared (Redis) cache at once, and other
# processes' in-process caches within this time. 0 turns token caching off.
JOBDESK_TOKEN_CACHE_SECONDS = env_seconds("JOBDESK_TOKEN_CACHE_SECONDS", 30)
# A job's wire snapshot is cached this long. Writes replace it at once in the same process and
# in a shared cache; an in-process cache sees other processes' writes within this time, so
# it is kept short without Redis. 0 turns snapshots off (every poll reads the database).
JOBDESK_SNAPSHOT_SECONDS = env_seconds("JOBDESK_SNAPSHOT_SECONDS", 300 if REDIS_URL else 2)
# After a write whose cache invalidation was lost (the cache was unreachable), a cached token
# or snapshot is served at most this long after it was stored (docs/faults.md): an older one is
# read again from the database, unless the database is down.
JOBDESK_MAX_STALENESS_SECONDS = env_seconds("JOBDESK_MAX_STALENESS_SECONDS", 5)
# `Retry-After` (seconds) of a 503 answered while the database or the cache is unavailable.
JOBDESK_OUTAGE_RETRY_AFTER_SECONDS = env_seconds("JOBDESK_OUTAGE_RETRY_AFTER_SECONDS", 1)
# An event stream (GET /api/events) sends a comment this often, and ends after this long (the
# client resumes with Last-Event-ID and is checked again).
JOBDESK_EVENTS_HEARTBEAT_SECONDS = env_seconds("JOBDESK_EVENTS_HEARTBEAT_SECONDS", 15)
JOBDESK_EVENTS_MAX_SECONDS = env_seconds("JOBDESK_EVENTS_MAX_SECONDS", 3600)
# `Retry-After` (seconds) sent with a pending job: the default, then per family by Canvas tag
# or ROMA job type, e.g. JOBDESK_RETRY_AFTER='{"progress": {"course_batch_update": 5}}'.
JOBDESK_RETRY_AFTER_SECONDS = env_seconds("JOBDESK_RETRY_AFTER_SECONDS", 1)
try:
    JOBDESK_RETRY_AFTER: dict[str, dict[str, int]] = json.loads(
        os.environ.get("JOBDESK_RETRY_AFTER", "").strip() or "{}"
    )
except ValueError as error:
    raise ImproperlyConfigured(f"JOBDESK_RETRY_AFTER is not valid JSON: {error}") from None
if not isinstance(JOBDESK_RETRY_AFTER, dict) or not all(
    isinstance(by_kind, dict)
    and all(isinstance(value, int) and value >= 0 for value in by_kind.values())
    for by_kind in JOBDESK_RETRY_AFTER.values()
):
    raise ImproperlyConfigured(
        'JOBDESK_RETRY_AFTER must map a family to {tag or type: seconds}, e.g. {"progress": '
        '{"course_batch_update": 5}}.'
    )
# The admin dashboard calls a job stuck when it is still unfinished this long after it started.
JOBDESK_STUCK_AFTER_MINUTES = int(os.environ.get("JOBDESK_STUCK_AFTER_MINUTES", 60))
# The admin's dashboard, and a job list showing pending jobs, refresh this often (seconds).
JOBDESK_ADMIN_REFRESH_SECONDS = env_seconds("JOBDESK_ADMIN_REFRESH_SECONDS", 10)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "{asctime} {levelname} {name} {message}", "style": "{"},
    },
    # Canvas clients may send their key as `?access_token=`: it never reaches a log line.
    "filters": {"redact_access_tokens": {"()": "tenancy.logging.RedactAccessTokens"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_access_tokens"],
        }
    },
    "root": {"handlers": ["stdout"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # The development server's request lines carry query strings: through the filter.
        "django.server": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
    },
}

# Write path: producer endpoints, tracked tasks, the reaper and retention (docs/producers.md).
# How long an `Idempotency-Key` of a producer create is remembered.
JOBDESK_IDEMPOTENCY_KEY_TTL = int(os.environ.get("JOBDESK_IDEMPOTENCY_KEY_TTL", 24 * 60 * 60))
# Largest export package a producer may upload (the archive route bypasses the body limit).
JOBDESK_MAX_ARCHIVE_BYTES = int(os.environ.get("JOBDESK_MAX_ARCHIVE_BYTES", 64 * 1024 * 1024))

# ROMA's import, export and delete routes hand each job type to a tracked task of the
# deployment (asset_jobs.handlers), e.g. JOBDESK_ASSET_JOB_HANDLERS='{"exportAsset":
# "myapp.tasks.export_assets"}'; a type without one is refused (ROMA.12002).
try:
    JOBDESK_ASSET_JOB_HANDLERS: dict[str, str] = json.loads(
        os.environ.get("JOBDESK_ASSET_JOB_HANDLERS", "").strip() or "{}"
    )
except ValueError as error:
    raise ImproperlyConfigured(f"JOBDESK_ASSET_JOB_HANDLERS is not valid JSON: {error}") from None
if not isinstance(JOBDESK_ASSET_JOB_HANDLERS, dict) or not all(
    isinstance(path, str) for path in JOBDESK_ASSET_JOB_HANDLERS.values()
):
    raise ImproperlyConfigured(
        "JOBDESK_ASSET_JOB_HANDLERS must map a job type to a task's dotted path, e.g. "
        '{"exportAsset": "myapp.tasks.export_assets"}.'
    )

# Tracked tasks run on Django tasks: "db" (the database worker, `manage.py db_worker`) by
# default, "rq" (Redis at REDIS_URL, `manage.py rqworker`) to scale out, or "immediate".
JOBDESK_TASKS_BACKEND = os.environ.get("JOBDESK_TASKS_BACKEND", "db").strip()
TASK_BACKENDS = {
    "db": "django_tasks_db.DatabaseBackend",
    "rq": "django_tasks_rq.RQBackend",
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
}
if JOBDESK_TASKS_BACKEND not in TASK_BACKENDS:
    raise ImproperlyConfigured(f"JOBDESK_TASKS_BACKEND must be one of {', '.join(TASK_BACKENDS)}.")
TASKS = {"default": {"BACKEND": TASK_BACKENDS[JOBDESK_TASKS_BACKEND]}}
# RQ's queues (django-tasks-rq reads them); Django-RQ's admin pages and `rqworker` exist only
# with the RQ backend, so nothing asks Redis for queues that are not used.
RQ_QUEUES = {"default": {"URL": REDIS_URL or "redis://127.0.0.1:6379/0"}}
if JOBDESK_TASKS_BACKEND == "rq":
    INSTALLED_APPS.append("django_rq")
# A tracked task's report reaches the database once per whole percent or after this long.
JOBDESK_TRACKED_REPORT_INTERVAL = float(os.environ.get("JOBDESK_TRACKED_REPORT_INTERVAL", 5))
# `reap_stuck_jobs` fails running jobs without a heartbeat for this long (seconds), unless
# JOBDESK_STUCK_JOB_TIMEOUTS names a timeout for the job's family and kind (tag or type).
JOBDESK_STUCK_JOB_TIMEOUT = int(os.environ.get("JOBDESK_STUCK_JOB_TIMEOUT", 15 * 60))
JOBDESK_STUCK_JOB_TIMEOUTS: dict[str, dict[str, int]] = {}
# A worker running a tracked task shows a sign of life this often, whether or not the task
# reports; a task whose worker showed none for JOBDESK_WORKER_LOST_SECONDS is failed, its task
# result too, by `reap_stuck_jobs` (the worker was killed, or its machine is gone).
JOBDESK_WORKER_BEAT_SECONDS = float(os.environ.get("JOBDESK_WORKER_BEAT_SECONDS", 5))
JOBDESK_WORKER_LOST_SECONDS = env_seconds("JOBDESK_WORKER_LOST_SECONDS", 30)
# `purge_finished_jobs` deletes jobs finished longer ago than their family's retention (30
# days unless the family says otherwise); this overrides it per family, e.g. {"progress": 7}
# (None keeps a family's jobs for ever).
JOBDESK_RETENTION_DAYS: dict[str, int | None] = {}

# Operations (ops/): /metrics answers loopback and this bearer token (never a tenant's token).
JOBDESK_METRICS_TOKEN = os.environ.get("JOBDESK_METRICS_TOKEN", "").strip()
# The scheduler (`manage.py run_maintenance`, run by `make serve`) runs the reaper and the
# retention purge this often (seconds).
JOBDESK_REAP_EVERY_SECONDS = env_seconds("JOBDESK_REAP_EVERY_SECONDS", 15)
JOBDESK_PURGE_EVERY_SECONDS = env_seconds("JOBDESK_PURGE_EVERY_SECONDS", 60 * 60)

# Webhooks (docs/api/webhooks.md): a failed delivery is tried again after the base delay,
# doubled at each attempt up to the maximum (or after a 429's or 503's Retry-After, capped the
# same), at most this many attempts; an endpoint whose deliveries failed this many times in a
# row is disabled. Each request times out after this many seconds.
JOBDESK_WEBHOOKS_MAX_ATTEMPTS = env_seconds("JOBDESK_WEBHOOKS_MAX_ATTEMPTS", 8)
JOBDESK_WEBHOOKS_RETRY_BASE_SECONDS = env_seconds("JOBDESK_WEBHOOKS_RETRY_BASE_SECONDS", 30)
JOBDESK_WEBHOOKS_RETRY_MAX_SECONDS = env_seconds("JOBDESK_WEBHOOKS_RETRY_MAX_SECONDS", 3600)
JOBDESK_WEBHOOKS_TIMEOUT_SECONDS = env_seconds("JOBDESK_WEBHOOKS_TIMEOUT_SECONDS", 10)
JOBDESK_WEBHOOKS_DISABLE_AFTER = env_seconds("JOBDESK_WEBHOOKS_DISABLE_AFTER", 5)
# The scheduler enqueues again, this often, attempts whose task was lost (manage.py
# requeue_webhooks).
JOBDESK_WEBHOOKS_SWEEP_SECONDS = env_seconds("JOBDESK_WEBHOOKS_SWEEP_SECONDS", 60)
# The delivery log keeps a delivery this many days after it ended (manage.py
# purge_webhook_deliveries, run by the scheduler with the jobs' purge).
JOBDESK_WEBHOOKS_RETENTION_DAYS = env_seconds("JOBDESK_WEBHOOKS_RETENTION_DAYS", 30)
# Endpoints on loopback, private, link-local or reserved addresses are refused (they would let
# a tenant reach the service's own network) unless this is on; plain http only with DEBUG.
JOBDESK_WEBHOOKS_ALLOW_PRIVATE = env_flag("JOBDESK_WEBHOOKS_ALLOW_PRIVATE")
# The scheme and host of the absolute URLs a delivered body holds (a Canvas progress' `url`).
JOBDESK_WEBHOOKS_BASE_URL = os.environ.get("JOBDESK_WEBHOOKS_BASE_URL", "").strip() or (
    "http://127.0.0.1:8000" if DEBUG else f"https://{ALLOWED_HOSTS[0].lstrip('.')}"
)
