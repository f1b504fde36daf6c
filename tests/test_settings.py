"""Production configuration: refuses unsafe settings, and passes Django's deploy checks."""

import os
import shutil
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


def manage(*args: str, **options) -> subprocess.CompletedProcess:
    """Run manage.py in a fresh interpreter with only the given jobdesk environment."""
    return python("manage.py", *args, **options)


def python(
    *args: str, cwd: Path = PROJECT_ROOT, read_env_file: bool = False, **env: str
) -> subprocess.CompletedProcess:
    """Run Python in the checkout `cwd` with only the given jobdesk environment.

    The checkout's `.env` is read only with `read_env_file` (or a DJANGO_ENV_FILE in `env`).
    """
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_URL", "JOBDESK_CREDENTIALS_KEYS"))
    }
    return subprocess.run(  # noqa: S603 - fixed interpreter and arguments
        [sys.executable, *args],
        cwd=cwd,
        env={**clean, **({} if read_env_file else {"DJANGO_ENV_FILE": ""}), **env},
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


def test_production_configuration_passes_the_deploy_checks(tmp_path):
    # What `collectstatic` leaves for the check (tests/test_serve.py runs the real one).
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "staticfiles.json").write_text('{"paths": {}, "version": "1.1"}')
    static = {"DJANGO_STATIC_ROOT": str(tmp_path / "static")}

    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION, **static)

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


def test_the_deploy_checks_fail_until_collectstatic_has_run(tmp_path):
    result = manage("check", "--deploy", DJANGO_STATIC_ROOT=str(tmp_path / "empty"), **PRODUCTION)

    assert result.returncode != 0
    assert "ops.E001" in result.stderr
    assert "collectstatic" in result.stderr


def test_the_wsgi_application_refuses_to_start_without_collected_static_files(tmp_path):
    result = manage(
        "shell",
        "-c",
        "import config.wsgi",
        DJANGO_STATIC_ROOT=str(tmp_path / "empty"),
        **PRODUCTION,
    )

    assert result.returncode != 0
    assert "ImproperlyConfigured: No static files manifest" in result.stderr
    assert "collectstatic" in result.stderr


def test_debug_mode_starts_without_any_configuration():
    result = manage("check", DJANGO_DEBUG="1")

    assert result.returncode == 0, result.stderr


def settings_value(expression: str, **options) -> str:
    """Return `expression` over the settings module as a fresh interpreter reads it."""
    result = python("-c", f"import config.settings as settings; print({expression})", **options)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture
def checkout(tmp_path) -> Path:
    """A copy of the checkout without its .env, database or virtualenv."""
    copy = tmp_path / "checkout"
    shutil.copytree(
        PROJECT_ROOT,
        copy,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv*",
            ".env",
            "db.sqlite3",
            "media",
            "staticfiles",
            "artifacts",
            ".metrics",
            "__pycache__",
            "node_modules",
            "*.egg-info",
        ),
    )
    return copy


def test_a_checkouts_env_file_is_read_and_real_variables_win(checkout):
    (checkout / ".env").write_text(f"DJANGO_DEBUG=1\nDJANGO_SECRET_KEY={STRONG_KEY}x\n")

    read = settings_value("settings.DEBUG, settings.SECRET_KEY", cwd=checkout, read_env_file=True)
    overridden = settings_value(
        "settings.DEBUG",
        cwd=checkout,
        read_env_file=True,
        DJANGO_DEBUG="0",
        DJANGO_ALLOWED_HOSTS="x",
        JOBDESK_CREDENTIALS_KEYS=CREDENTIALS_KEY,
    )

    assert read == f"True {STRONG_KEY}x"
    assert overridden == "False"


def test_production_never_reads_a_checkouts_env_file(checkout):
    (checkout / ".env").write_text("DJANGO_DEBUG=1\n")

    debug = settings_value("settings.DEBUG", cwd=checkout, read_env_file=True, **PRODUCTION)

    assert debug == "False"


def test_a_named_env_file_is_read_and_a_missing_one_refused(checkout, tmp_path):
    named = tmp_path / "jobdesk.env"
    named.write_text("DJANGO_ALLOWED_HOSTS=jobs.example.com\n")

    hosts = settings_value(
        "settings.ALLOWED_HOSTS",
        DJANGO_ENV_FILE=str(named),
        DJANGO_SECRET_KEY=STRONG_KEY,
        JOBDESK_CREDENTIALS_KEYS=CREDENTIALS_KEY,
    )
    missing = python(
        "-c", "import config.settings", DJANGO_ENV_FILE=str(tmp_path / "nope.env"), DJANGO_DEBUG="1"
    )

    assert hosts == "['jobs.example.com']"
    assert missing.returncode != 0
    assert "DJANGO_ENV_FILE names" in missing.stderr


def test_make_install_writes_an_env_file_once_with_a_secret_key_of_its_own(checkout):
    make = ["make", "--no-print-directory", ".env"]
    subprocess.run(make, cwd=checkout, check=True, capture_output=True, timeout=60)  # noqa: S603
    first = (checkout / ".env").read_text()
    subprocess.run(make, cwd=checkout, check=True, capture_output=True, timeout=60)  # noqa: S603

    assert (checkout / ".env").read_text() == first
    values = dict(
        line.split("=", 1) for line in first.splitlines() if line and not line.startswith("#")
    )
    assert values["DJANGO_DEBUG"] == "1"
    assert len(values["DJANGO_SECRET_KEY"]) >= 50
    assert values["DJANGO_SECRET_KEY"] != "django-insecure-jobdesk-development-only"
    assert (checkout / ".env").stat().st_mode & 0o077 == 0
    assert settings_value("settings.DEBUG", cwd=checkout, read_env_file=True) == "True"


def test_django_rq_is_installed_only_with_the_rq_backend():
    installed = "'django_rq' in settings.INSTALLED_APPS"

    assert settings_value(installed, DJANGO_DEBUG="1") == "False"
    assert settings_value(installed, DJANGO_DEBUG="1", JOBDESK_TASKS_BACKEND="rq") == "True"
