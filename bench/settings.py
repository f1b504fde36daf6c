"""Settings of the poll benchmark's server: jobdesk's own, plus the bench-only routes and Celery.

`bench/poll.py` serves jobdesk with `DJANGO_SETTINGS_MODULE=bench.settings`. Everything comes
from `config.settings` (driven by the same environment variables); only the URLs and the
Celery settings of celery-progress' reference server (`bench.celery_settings`, the one that
imports Celery) are added here.
"""

from config.settings import *  # noqa: F403
from config.settings import REDIS_URL

ROOT_URLCONF = "bench.urls"

# celery-progress reads task state from Celery's result backend: Redis, in the benchmark's own
# database number (REDIS_URL). Nothing is ever sent to the broker; no worker runs.
CELERY_BROKER_URL = REDIS_URL or "redis://127.0.0.1:6379/5"
CELERY_RESULT_BACKEND = CELERY_BROKER_URL
CELERY_TASK_IGNORE_RESULT = False
