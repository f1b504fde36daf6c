"""What a web process imports at start: only what every request may need.

gunicorn's workers fork from a master that has set Django up and imported the URLconf
(config/wsgi.py); every module imported then is in each worker's memory. Libraries that only
some requests need are imported on first use instead.
"""

import pytest

from tests.test_settings import PRODUCTION, python

# Imported on first use: (module, what needs it).
LAZY = [
    ("cryptography.fernet", "reading or writing a stored secret (tenancy.secrets)"),
]

STARTUP = """
import sys
import django
from django.conf import settings
from importlib import import_module

django.setup()
import_module(settings.ROOT_URLCONF)
print(" ".join(sorted(sys.modules)))
"""


@pytest.fixture(scope="module")
def started_modules() -> set[str]:
    """Return the modules a production process has imported once the URLconf is loaded."""
    result = python("-c", STARTUP, DJANGO_SETTINGS_MODULE="config.settings", **PRODUCTION)
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


@pytest.mark.parametrize(("module", "needed_by"), LAZY)
def test_setup_and_urlconf_do_not_import(started_modules, module, needed_by):
    assert module not in started_modules, f"{module} is for {needed_by} only"
