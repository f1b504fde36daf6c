"""PostgreSQL through psycopg 3, with a deadline on every wait for the server.

The server's `statement_timeout` (settings) ends a slow statement, but not a wait for a server
that no longer answers at all: a hung host, or a network path that accepts bytes and forwards
none. Without a deadline of its own, a request would then hold its worker until gunicorn kills
it. Each wait for the server is therefore also bounded here, a little beyond the statement
timeout so that the server's own cancel normally comes first; past the deadline the
connection is closed (never used again) and the statement raises `OperationalError`, which
the API answers with 503 and `Retry-After` (docs/faults.md).
"""

from __future__ import annotations

import psycopg
from django.conf import settings
from django.db.backends.postgresql import base

# How much longer than the statement timeout the client waits for the server's own answer.
DEADLINE_MARGIN_SECONDS = 1.0
# Django's health check of a kept connection (a `SELECT 1`, with DJANGO_CONN_MAX_AGE) answers
# in milliseconds from a server that works: one that takes this long is not answering.
HEALTH_CHECK_SECONDS = 1.0


def client_deadline() -> float | None:
    """Return how long one wait for the server may last (None: for ever)."""
    timeout = settings.JOBDESK_DATABASE_STATEMENT_TIMEOUT_SECONDS
    return timeout + DEADLINE_MARGIN_SECONDS if timeout > 0 else None


class DeadlineConnection(psycopg.Connection):
    """A psycopg connection whose every wait for the server ends by `client_deadline()`."""

    checking_health = False

    def wait(self, gen, *args, timeout: float | None = None, **kwargs):
        deadline = timeout or (HEALTH_CHECK_SECONDS if self.checking_health else client_deadline())
        try:
            return super().wait(gen, *args, timeout=deadline, **kwargs)
        except psycopg.errors._WaitTimeout:
            # Half a conversation is left on the wire: the connection cannot be reused.
            self.close()
            raise psycopg.OperationalError(
                f"The database did not answer within {deadline:g} seconds."
            ) from None


class DatabaseWrapper(base.DatabaseWrapper):
    """Django's PostgreSQL backend, on `DeadlineConnection`s."""

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        # psycopg builds the connection (Django passes it its options); it then waits with a
        # deadline. The subclass adds behaviour only, no state.
        connection.__class__ = DeadlineConnection
        return connection

    def is_usable(self) -> bool:
        """Django's health check, given `HEALTH_CHECK_SECONDS` rather than a statement's time."""
        if self.connection is None:
            return False
        self.connection.checking_health = True
        try:
            return super().is_usable()
        finally:
            self.connection.checking_health = False
