"""WSGI entry point: `gunicorn --config config/gunicorn.py config.wsgi` (make serve)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

# Fail at start, naming `collectstatic`, rather than answer 500 on every page that names a
# static file (the admin, the API docs).
from ops.checks import require_collected_static  # noqa: E402 - needs Django set up

require_collected_static()
