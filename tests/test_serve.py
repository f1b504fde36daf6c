"""`make serve` in production settings, from a fresh clone: pages, polls, probes, metrics.

One test, because starting the deployment is most of its cost: migrate, collectstatic,
gunicorn with two workers, uvicorn for event streams, a task worker and the scheduler. The
database is a fresh one of the suite's kind (a SQLite file, or a PostgreSQL database next to
the test database), and is made unreachable for a moment to see /readyz answer 503 and then
recover.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from django.db import connection
from django.test import override_settings

from tests.clones import (
    clean_environment,
    free_port,
    fresh_clone,
    get,
    interrupt,
    start,
    wait_for,
)
from tests.conftest import require_redis

pytestmark = [pytest.mark.e2e, pytest.mark.long, pytest.mark.django_db]

SECRET_KEY = "serve-test-" + "k" * 24 + "0123456789abcdefghij"
METRICS_TOKEN = "metrics-token-of-the-operator"
HTTPS = {"X-Forwarded-Proto": "https"}  # as the TLS-terminating proxy in front would say


class Database:
    """A fresh database for the deployment, which the test can make unreachable."""

    def __init__(self, clone: Path) -> None:
        self.clone = clone
        self.postgres = connection.vendor == "postgresql"
        self.name = f"{connection.settings_dict['NAME']}_serve"

    def url(self) -> str:
        if not self.postgres:
            return f"sqlite:///{self.clone / 'db.sqlite3'}"
        db = connection.settings_dict
        host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
        return f"postgres://{db['USER']}@{host}:{port}/{self.name}"

    def sql(self, *statements: str) -> None:
        # Dropping a database waits for its processes to end: no statement timeout here.
        with (
            override_settings(JOBDESK_DATABASE_STATEMENT_TIMEOUT_SECONDS=0),
            connection.cursor() as cursor,
        ):
            if self.postgres:
                cursor.execute("SET statement_timeout = 0")
            try:
                for statement in statements:
                    cursor.execute(statement)
            finally:
                if self.postgres:
                    cursor.execute("RESET statement_timeout")

    def create(self) -> None:
        if self.postgres:
            self.sql(f'DROP DATABASE IF EXISTS "{self.name}"', f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        if self.postgres:
            self.sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    @contextmanager
    def unreachable(self) -> Iterator[None]:
        """Refuse every connection to the database until the block ends."""
        if self.postgres:
            self.sql(
                f'ALTER DATABASE "{self.name}" WITH ALLOW_CONNECTIONS false',
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "  # noqa: S608
                f"WHERE datname = '{self.name}'",  # the test's own database name
            )
            try:
                yield
            finally:
                self.sql(f'ALTER DATABASE "{self.name}" WITH ALLOW_CONNECTIONS true')
            return
        path = self.clone / "db.sqlite3"
        path.rename(path.with_suffix(".away"))
        path.mkdir()  # a folder where the file was: SQLite cannot open it
        try:
            yield
        finally:
            path.rmdir()
            path.with_suffix(".away").rename(path)


@pytest.fixture
def deployment(tmp_path, transactional_db) -> Iterator[tuple[Path, Database, dict[str, str]]]:
    clone = fresh_clone(tmp_path / "jobdesk")
    database = Database(clone)
    database.create()
    port = free_port()
    env = clean_environment(
        HOST="127.0.0.1",
        PORT=str(port),
        EVENTS_PORT=str(free_port()),
        WEB_CONCURRENCY="2",
        DJANGO_SECRET_KEY=SECRET_KEY,
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        # A Fernet key for access key secrets, for this test only.
        JOBDESK_CREDENTIALS_KEYS="c2VydmUtdGVzdHMtY3JlZGVudGlhbHMta2V5LTMyYiE=",
        DATABASE_URL=database.url(),
        JOBDESK_METRICS_TOKEN=METRICS_TOKEN,
        JOBDESK_REAP_EVERY_SECONDS="1",
        JOBDESK_TRUSTED_PROXIES="127.0.0.1",  # the test speaks as the proxy in front would
    )
    if database.postgres:
        # Shared by the web and worker processes, as production runs with it: the suite's
        # Redis (the shared-cache tests' default without one), under a prefix of its own.
        redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/3"
        require_redis(redis_url)
        env.update(REDIS_URL=redis_url, JOBDESK_CACHE_KEY_PREFIX=f"jobdesk-serve-{port}")
    else:
        env["DJANGO_CONN_MAX_AGE"] = "0"  # SQLite: every request opens the file afresh
    try:
        yield clone, database, env
    finally:
        database.drop()


def test_make_serve_serves_pages_polls_probes_and_metrics_in_production_settings(
    deployment, tmp_path
):
    clone, database, env = deployment
    base = f"http://127.0.0.1:{env['PORT']}"
    log = tmp_path / "serve.log"
    server = start(["make", "serve"], cwd=clone, env=env, log=log)
    try:
        wait_for(f"{base}/healthz", server, log)
        poll_url = load_demo_data(clone, env, base)

        login = check_pages(base)
        check_poll(poll_url)
        check_metrics(base)
        check_events(f"http://127.0.0.1:{env['EVENTS_PORT']}", poll_url)
        check_readiness(base, database)
    finally:
        interrupt(server, cwd=clone)
    assert login


def load_demo_data(clone: Path, env: dict[str, str], base: str) -> str:
    """Load the demo into the deployment's database; return the URL of a Canvas job to poll."""
    result = subprocess.run(  # noqa: S603 - a fixed command line
        [".venv/bin/python", "manage.py", "demo", "--allow-without-debug", "--base-url", base],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return re.search(rf"{re.escape(base)}/api/v1/progress/\d+\b", result.stdout).group(0)


def check_pages(base: str) -> bool:
    status, page = get(f"{base}/admin/login/", **HTTPS)
    assert status == 200
    # The admin's own stylesheet, by the hashed name collectstatic recorded.
    stylesheet = re.search(rb'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', page)
    assert stylesheet, page[:500]
    assert get(base + stylesheet.group(1).decode(), **HTTPS)[0] == 200
    for path in ("/", "/api/docs/", "/api/redoc/", "/api/schema/"):
        assert get(f"{base}{path}", **HTTPS)[0] == 200, path
    # Production settings: plain HTTP is sent to HTTPS, and the landing page shows no demo key.
    assert get(f"{base}/admin/login/")[0] == 301
    assert b"jd_demo" not in get(f"{base}/", **HTTPS)[1]
    return True


def check_poll(poll_url: str) -> None:
    key = {"Authorization": "Bearer jd_demo_acme_ops", **HTTPS}
    for _ in range(3):  # the first loads the job, the next are answered from its snapshot
        status, body = get(poll_url, **key)
        assert status == 200
        assert json.loads(body)["workflow_state"] == "running"


def check_metrics(base: str) -> None:
    status, body = get(f"{base}/metrics")
    assert status == 200
    text = body.decode()
    assert 'jobdesk_jobs{family="progress",outcome="pending",state="running"} 2.0' in text
    assert 'jobdesk_oldest_pending_job_age_seconds{family="asset_jobs"}' in text
    # Counted in other processes (the scheduler, the other web worker), added up here.
    assert re.search(r'jobdesk_maintenance_runs_total\{command="reap_stuck_jobs"\} [1-9]', text)
    polls = re.findall(
        r'jobdesk_poll_snapshot_lookups_total\{family="progress",result="\w+"\} (\S+)', text
    )
    assert sum(float(value) for value in polls) == 3
    proxied = {"X-Forwarded-For": "203.0.113.7"}
    assert get(f"{base}/metrics", **proxied)[0] == 401
    assert get(f"{base}/metrics", **proxied, Authorization="Bearer jd_demo_acme_admin")[0] == 401
    assert get(f"{base}/metrics", **proxied, Authorization=f"Bearer {METRICS_TOKEN}")[0] == 200


def check_events(events_base: str, poll_url: str) -> None:
    """The events process (uvicorn) streams the job, as the proxy would ask it to."""
    job_id = poll_url.rsplit("/", 1)[1]
    url = f"{events_base}/api/events?job=progress:{job_id}"
    key = {"Authorization": "Bearer jd_demo_acme_ops", **HTTPS}
    with httpx.stream("GET", url, headers=key, timeout=30) as response:
        assert response.status_code == 200
        lines = response.iter_lines()
        assert next(line for line in lines if line.startswith("event:")) == "event: progress"
        data = next(line for line in lines if line.startswith("data:"))
        assert '"workflow_state":"running"' in data


def check_readiness(base: str, database: Database) -> None:
    assert get(f"{base}/readyz")[0] == 200
    with database.unreachable():
        status, body = get(f"{base}/readyz")
        assert status == 503
        assert json.loads(body)["database"].startswith("unreachable")
        assert json.loads(body)["cache"] == "ok"
        assert get(f"{base}/healthz")[0] == 200
    status, body = get(f"{base}/readyz")
    assert status == 200, body
    assert json.loads(body) == {"ready": True, "database": "ok", "cache": "ok"}
