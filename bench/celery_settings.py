"""Settings of the poll benchmark's reference server: `bench.settings` plus celery-progress'
poll view (`bench.celery_urls`)."""

from bench.settings import *  # noqa: F403

ROOT_URLCONF = "bench.celery_urls"
