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
    ("urllib3", "a webhook delivery's POST (webhooks.sending)"),
]

# As in a production install: `requests` comes only with the dev extra (test clients), and
# DRF imports it whenever it is installed, so the process started here cannot import it.
STARTUP = """
import sys

class NoRequests:
    def find_spec(self, name, path=None, target=None):
        if name == "requests" or name.startswith("requests."):
            raise ImportError("requests is not installed in production")

sys.meta_path.insert(0, NoRequests())
import django
from django.conf import settings
from importlib import import_module

django.setup()
import_module(settings.ROOT_URLCONF)
import_module("webhooks.tasks")
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


def test_webhooks_are_loaded_without_requests(started_modules):
    """jobdesk does not depend on requests: the webhook senders load without it."""
    assert {"webhooks.sending", "webhooks.tasks"} <= started_modules
