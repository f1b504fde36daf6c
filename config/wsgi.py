"""WSGI entry point: `gunicorn --config config/gunicorn.py config.wsgi` (make serve)."""

import os
from importlib import import_module

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# A cached poll is answered before Django's handler, as the handler would answer it (jobs.wsgi).
application = get_wsgi_application()

from jobs.wsgi import CachedPollApplication  # noqa: E402 - needs Django set up

application = CachedPollApplication(application)

# Fail at start, naming `collectstatic`, rather than answer 500 on every page that names a
# static file (the admin, the API docs).
from ops.checks import require_collected_static  # noqa: E402 - needs Django set up

require_collected_static()

# Import the URLconf, and so every view, now: under gunicorn's `preload_app` this happens once
# before the workers fork, and they share those modules instead of each importing them on its
# first request.
from django.conf import settings  # noqa: E402 - needs Django set up

import_module(settings.ROOT_URLCONF)
