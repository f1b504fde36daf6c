"""Production configuration: refuses unsafe settings, and passes Django's deploy checks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STRONG_KEY = "k" * 20 + "0123456789abcdefghijklmnopqrstuvwxyz"
CREDENTIALS_KEY = "c2VjcmV0cy1vZi1hY2Nlc3Mta2V5cy1pbi10ZXN0cyE="  # a Fernet key, for tests only
PRODUCTION = {
    "DJANGO_SECRET_KEY": STRONG_KEY,
    "DJANGO_ALLOWED_HOSTS": "jobs.example.com",
    "JOBDESK_CREDENTIALS_KEYS": CREDENTIALS_KEY,
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    """Run manage.py in a fresh interpreter with only the given jobdesk environment."""
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_URL", "JOBDESK_CREDENTIALS_KEYS"))
    }
    return subprocess.run(  # noqa: S603 - fixed interpreter and arguments
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", DJANGO_ALLOWED_HOSTS="jobs.example.com")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize("weak", ["short", "django-insecure-jobdesk-development-only"])
def test_production_refuses_a_weak_or_development_secret_key(weak):
    result = manage("check", DJANGO_SECRET_KEY=weak, DJANGO_ALLOWED_HOSTS="jobs.example.com")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is too weak" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    result = manage("check", DJANGO_SECRET_KEY=STRONG_KEY)

    assert result.returncode != 0
    assert "DJANGO_ALLOWED_HOSTS must be set" in result.stderr


def test_production_configuration_passes_the_deploy_checks():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_credentials_keys():
    result = manage("check", **{**PRODUCTION, "JOBDESK_CREDENTIALS_KEYS": ""})

    assert result.returncode != 0
    assert "JOBDESK_CREDENTIALS_KEYS must be set" in result.stderr


def test_production_refuses_the_development_credentials_key():
    development = "am9iZGVzay1kZXZlbG9wbWVudC1jcmVkZW50aWFscyE="
    keys = f"{CREDENTIALS_KEY},{development}"

    result = manage("check", **{**PRODUCTION, "JOBDESK_CREDENTIALS_KEYS": keys})

    assert result.returncode != 0
    assert "holds the development key" in result.stderr


def test_a_credentials_key_that_is_not_a_fernet_key_is_refused_without_echoing_it():
    keys = f"{CREDENTIALS_KEY},not-a-real-key-value"

    result = manage("check", **{**PRODUCTION, "JOBDESK_CREDENTIALS_KEYS": keys})

    assert result.returncode != 0
    assert "key 2 is not a Fernet key" in result.stderr
    assert "not-a-real-key-value" not in result.stderr


def test_debug_mode_starts_without_any_configuration():
    result = manage("check", DJANGO_DEBUG="1")

    assert result.returncode == 0, result.stderr
