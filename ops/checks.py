"""Production serves static files by the names `collectstatic` records: without them, refuse.

With DEBUG off, the static files storage is whitenoise's manifest storage: a page naming a
static file (the admin, the API docs) looks the file up in the manifest that `collectstatic`
writes, and answers 500 when it is missing. Both `check --deploy` and the WSGI application
(`config.wsgi`) call this, so a deployment that skipped `collectstatic` fails at start with
the command to run, instead of serving 500s.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.core import checks
from django.core.exceptions import ImproperlyConfigured


def missing_manifest() -> str | None:
    """Return why static files cannot be named, or None when they can."""
    if not isinstance(staticfiles_storage, ManifestFilesMixin):
        return None
    if staticfiles_storage.manifest_storage.exists(staticfiles_storage.manifest_name):
        return None
    return (
        f"No static files manifest in {settings.STATIC_ROOT}: run `manage.py collectstatic "
        "--no-input` (make serve does) before serving with DJANGO_DEBUG off."
    )


def check_collected_static(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """The deploy check: `collectstatic` has run into STATIC_ROOT."""
    problem = missing_manifest()
    return [] if problem is None else [checks.Error(problem, id="ops.E001")]


def require_collected_static() -> None:
    """Refuse to serve when pages could not name their static files."""
    problem = missing_manifest()
    if problem is not None:
        raise ImproperlyConfigured(problem)
