"""gunicorn's logger for jobdesk (config/gunicorn.py sets it as `logger_class`).

gunicorn's own logger has two faults for a poll service:

- its access line carries the request line as the client sent it, query string included, so a
  Canvas key sent as `?access_token=` would be written to the log. Here every value of the
  line is masked as jobdesk's own log handler masks it (`tenancy.logging`), and so is the
  error log, whose messages name a request's URI;
- for every request it builds a dictionary of every atom its format could name: each
  request and response header, each environment variable, the date. A cached poll costs
  little more than that line. Here only the atoms that `access_log_format` names are
  computed; what each means, and the line written, are gunicorn's (`--access-logformat`).

gunicorn turns to its statsd logger only when its own logger is configured: jobdesk reports
its metrics to Prometheus (`/metrics`), and `--statsd-host` sends nothing here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

from gunicorn import glogging

from tenancy.logging import RedactAccessTokens, redacted

# The atoms of `access_log_format`: `%(name)s`, a request header `%({name}i)s`, a response
# header `%({name}o)s` and an environment variable `%({name}e)s`.
NAMED_ATOM = re.compile(r"%\(([^)]*)\)")
HEADER_ATOM = re.compile(r"\{(.*)\}([ioe])")

# gunicorn's atoms by name: each computed from (logger, response, request, environ, duration).
ATOMS: dict[str, Callable[..., Any]] = {
    "h": lambda log, resp, req, environ, took: environ.get("REMOTE_ADDR", "-"),
    "l": lambda log, resp, req, environ, took: "-",
    "u": lambda log, resp, req, environ, took: log._get_user(environ) or "-",
    "t": lambda log, resp, req, environ, took: log.now(),
    "r": lambda log, resp, req, environ, took: (
        f"{environ['REQUEST_METHOD']} {environ['RAW_URI']} {environ['SERVER_PROTOCOL']}"
    ),
    "s": lambda log, resp, req, environ, took: status_code(resp.status),
    "m": lambda log, resp, req, environ, took: environ.get("REQUEST_METHOD"),
    "U": lambda log, resp, req, environ, took: environ.get("PATH_INFO"),
    "q": lambda log, resp, req, environ, took: environ.get("QUERY_STRING"),
    "H": lambda log, resp, req, environ, took: environ.get("SERVER_PROTOCOL"),
    "b": lambda log, resp, req, environ, took: (
        "-" if getattr(resp, "sent", None) is None else str(resp.sent) or "-"
    ),
    "B": lambda log, resp, req, environ, took: getattr(resp, "sent", None),
    "f": lambda log, resp, req, environ, took: environ.get("HTTP_REFERER", "-"),
    "a": lambda log, resp, req, environ, took: environ.get("HTTP_USER_AGENT", "-"),
    "T": lambda log, resp, req, environ, took: took.seconds,
    "D": lambda log, resp, req, environ, took: took.seconds * 1_000_000 + took.microseconds,
    "M": lambda log, resp, req, environ, took: took.seconds * 1000 + took.microseconds // 1000,
    "L": lambda log, resp, req, environ, took: f"{took.seconds}.{took.microseconds:06d}",
    "p": lambda log, resp, req, environ, took: f"<{os.getpid()}>",
}

REDACT = RedactAccessTokens()
MISSING = object()


def status_code(status: str | int) -> str | int:
    """The status as gunicorn's line shows it: the code of a status line, or the number."""
    return status.split(None, 1)[0] if isinstance(status, str) else status


def last_named(pairs, name: str) -> Any:
    """The value of the last pair whose name is `name` (lowercase), or MISSING."""
    found = MISSING
    for key, value in pairs:
        if key.lower() == name:
            found = value
    return found


class Logger(glogging.Logger):
    """gunicorn's logger, masking Canvas keys and building only the atoms the format names."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        self.error_log.addFilter(REDACT)  # once: a reload's second setup adds nothing
        self.named_atoms = [
            name.lower() if name.startswith("{") else name
            for name in dict.fromkeys(NAMED_ATOM.findall(cfg.access_log_format))
        ]

    def atoms(self, resp, req, environ, request_time) -> dict[str, Any]:
        """The atoms the format names, each as gunicorn computes it, masked (`-` for a
        header or variable the request does not have, as for an unknown atom)."""
        atoms = {}
        for name in self.named_atoms:
            if compute := ATOMS.get(name):
                value = compute(self, resp, req, environ, request_time)
            elif header := HEADER_ATOM.fullmatch(name):
                value = self.header_atom(header[1], header[2], resp, req, environ)
            else:
                value = MISSING
            atoms[name] = "-" if value is MISSING else redacted(value)
        # logging formats a record whose one argument is an empty mapping as a tuple: a format
        # that names no atom gets gunicorn's constant one.
        return atoms or {"l": "-"}

    @staticmethod
    def header_atom(name: str, kind: str, resp, req, environ) -> Any:
        """A request header (`i`), response header (`o`) or environment variable (`e`)."""
        if kind == "e":
            return last_named(environ.items(), name)
        headers = getattr(req, "headers", req) if kind == "i" else resp.headers
        return last_named(headers.items() if hasattr(headers, "items") else headers, name)
