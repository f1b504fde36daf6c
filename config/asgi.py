"""ASGI entry point: Django, with event streams and `?wait=` reads held in the event loop.

Served by uvicorn (`make run`; `events` in the Procfile): see jobs/asgi.py and
docs/deployment.md.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

django_application = get_asgi_application()

from jobs.asgi import JobdeskASGI  # noqa: E402 - needs the apps loaded above

application = JobdeskASGI(django_application)
