"""jobdesk's gunicorn logger (config/gunicorn_logging.py): gunicorn's lines, Canvas keys masked.

Each line is compared with the one gunicorn's own logger writes for the same request, built
by gunicorn's parser and WSGI layer from raw bytes.
"""

from __future__ import annotations

import io
import logging
import socket
from collections.abc import Iterator
from datetime import timedelta

import pytest
from gunicorn import glogging
from gunicorn.config import Config
from gunicorn.http.message import Request
from gunicorn.http.unreader import IterUnreader
from gunicorn.http.wsgi import create

from config import gunicorn as production
from config.gunicorn_logging import Logger

TOOK = timedelta(seconds=2, microseconds=3456)
EVERY_ATOM = " ".join(f"%({name})s" for name in "hlutrsmUqHbBfaTDMLp")
HEADERS = "%({x-trace}i)s %({X-TRACE}i)s %({content-type}o)s %({raw_uri}e)s %({wsgi.multithread}e)s"
UNKNOWN = "%(z)s %({absent}i)s %({absent}o)s %({absent}e)s %({nobrace)s"
REQUEST = (
    b"GET /api/v1/progress/7?x=1&y=%22 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b'User-Agent: curl "quoted"\r\nReferer: http://example.com/a\r\nX-Trace: one\r\n'
    b"X-Trace: two\r\nAuthorization: Basic dXNlcjpwYXNz\r\n\r\n"
)


def config(access_log_format: str) -> Config:
    cfg = Config()
    cfg.set("accesslog", "-")
    cfg.set("access_log_format", access_log_format)
    return cfg


def answered(raw: bytes, status: str = "200 OK", body: bytes = b"hello"):
    """A request as gunicorn parses it, answered: (response, request, environ)."""
    cfg = Config()
    req = Request(cfg, IterUnreader([raw]), ("127.0.0.1", 5000), 1)
    ours, theirs = socket.socketpair()
    with ours, theirs:
        resp, environ = create(req, ours, ("127.0.0.1", 5000), ("127.0.0.1", 8000), cfg)
        resp.start_response(status, [("Content-Type", "text/plain"), ("X-Out", "1")])
        resp.write(body)
    return resp, req, environ


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """What the access and error logs write, instead of standard output."""
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    loggers = [logging.getLogger("gunicorn.access"), logging.getLogger("gunicorn.error")]
    for logger in loggers:
        logger.addHandler(handler)
    yield written
    for logger in loggers:
        logger.removeHandler(handler)


def line_of(logger_class, access_log_format: str, raw: bytes = REQUEST, **answer) -> str:
    """The access line `logger_class` writes for `raw`, its clock stopped."""
    logger = logger_class(config(access_log_format))
    logger.now = lambda: "[01/Dec/2026:10:00:00 +0000]"
    logger.access_log.handlers = [handler := logging.StreamHandler(written := io.StringIO())]
    handler.setFormatter(logging.Formatter(logger.access_fmt))
    logger.access(*answered(raw, **answer), TOOK)
    return written.getvalue()


@pytest.mark.parametrize(
    "access_log_format",
    [production.access_log_format, EVERY_ATOM, HEADERS, UNKNOWN, "no atom", "100%% %%(h)s"],
    ids=["production", "every-atom", "headers", "unknown", "no-atom", "escaped"],
)
def test_each_line_is_the_one_gunicorn_writes(access_log_format):
    ours = line_of(Logger, access_log_format)

    assert ours == line_of(glogging.Logger, access_log_format)
    assert ours.strip()


def test_an_empty_answer_and_an_unusual_status_are_shown_as_gunicorn_shows_them():
    for answer in ({"status": "304 Not Modified", "body": b""}, {"status": "418 I'm a teapot"}):
        assert line_of(Logger, EVERY_ATOM, **answer) == line_of(
            glogging.Logger, EVERY_ATOM, **answer
        )


@pytest.mark.parametrize("where", ["query", "referer", "header"])
def test_a_canvas_key_never_reaches_the_access_log(where):
    target, referer, header = "/api/v1/progress/7", "http://example.com/", "x"
    if where == "query":
        target += "?tag=a&access_token=jd_secret&b=1"
    elif where == "referer":
        referer += "?Access_Token=jd_secret"
    else:
        header = "access_token=jd_secret"
    raw = (
        f"GET {target} HTTP/1.1\r\nHost: h\r\nReferer: {referer}\r\nX-Note: {header}\r\n\r\n"
    ).encode()
    access_log_format = (
        f"{production.access_log_format} %(f)s %(q)s %({{x-note}}i)s %({{raw_uri}}e)s"
    )

    line = line_of(Logger, access_log_format, raw)

    assert "jd_secret" not in line
    assert "jd_secret" in line_of(glogging.Logger, access_log_format, raw)  # what it masks
    assert "access_token=[redacted]" in line.lower()


def test_the_error_log_masks_a_canvas_key_too(lines):
    logger = Logger(config(production.access_log_format))
    logger.setup(logger.cfg)  # a configuration reload sets it up again: one filter still

    logger.exception("Error handling request %s", "/api/v1/progress/7?access_token=jd_secret")

    assert "access_token=[redacted]" in lines.getvalue()
    assert "jd_secret" not in lines.getvalue()
    assert logger.error_log.filters.count(logger.error_log.filters[0]) == 1


def test_the_production_configuration_uses_it():
    cfg = Config()
    cfg.set("logger_class", production.logger_class)

    assert cfg.logger_class is Logger
