"""ASGI entry point: Django, with event streams and `?wait=` reads held in the event loop.

Served by uvicorn (`make run`; `events` in the Procfile): see jobs/asgi.py and
docs/deployment.md.
"""

import logging
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Each request runs in a thread of its own here: share a pool of database connections.
os.environ.setdefault("JOBDESK_DATABASE_POOL_SIZE", "10")

django_application = get_asgi_application()

from jobs.asgi import JobdeskASGI  # noqa: E402 - needs the apps loaded above
from tenancy.logging import RedactAccessTokens  # noqa: E402

# uvicorn's request lines carry query strings, a Canvas `access_token` too: mask it, as the
# settings do for Django's own loggers (uvicorn configured its loggers before Django).
logging.getLogger("uvicorn.access").addFilter(RedactAccessTokens())

application = JobdeskASGI(django_application)
