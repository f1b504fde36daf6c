"""Headless Debian Chromium driven by Playwright, kept on this machine."""

import os
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from playwright.sync_api import Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
SCREENSHOTS = Path(settings.BASE_DIR) / "artifacts" / "screenshots"


def chromium_missing_reason() -> str | None:
    """Say why the browser tests cannot run here, or None when Chromium is installed."""
    if CHROMIUM.exists():
        return None
    return f"{CHROMIUM} is missing: `make system-deps` installs it (as root, with apt-get)."


def must_have_browser() -> bool:
    """Tell whether a missing browser fails the run (in CI) instead of skipping its tests."""
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no", "off"}


def is_local(url: str) -> bool:
    """Tell whether `url` stays on this machine (loopback, or a page-internal scheme)."""
    parts = urlsplit(url)
    if parts.scheme in {"data", "blob", "about"}:
        return True
    return parts.hostname in LOCAL_HOSTS


def external_requests(urls: Iterable[str]) -> list[str]:
    """Return the URLs among `urls` that would leave this machine."""
    return [url for url in urls if not is_local(url)]


def save_screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as artifacts/screenshots/<name>.png and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    return target
