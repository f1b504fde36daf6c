"""gunicorn's threaded worker, guarded against slow clients (config/gunicorn.py runs it).

gunicorn's threads read a request with blocking calls: a client that sends its headers a line
at a time (slowloris), or announces a body it never sends, holds a thread for as long as it
likes, and a few such clients freeze every worker. This worker

- gives a connection a thread only once its request has arrived: its headers, and a body of up
  to `buffered_body_bytes` declared by Content-Length, as a buffering proxy would. Until then
  the connection waits in the worker's event loop, as an idle keep-alive one does; headers
  still incomplete `header_timeout` seconds after their first byte, or a body still incomplete
  `body_timeout` seconds after them, are answered 408 and the connection is closed;
- bounds each read of a larger or chunked body (a package upload) by `body_timeout`.

It relies on the threaded worker's hand-back of a connection to its event loop, an internal
of gunicorn's: pyproject.toml pins gunicorn's major version for it.
"""

from __future__ import annotations

import contextlib
import socket
import time
from dataclasses import dataclass

from gunicorn import util
from gunicorn.workers import gthread

HEAD_END = b"\r\n\r\n"
READ_SIZE = 64 * 1024
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


@dataclass
class Arrival:
    """How far a connection's next request has arrived, and until when it may take."""

    deadline: float
    why: str = "its headers took too long"
    wanted: int | None = None
    """Bytes of head and buffered body, once the head is in."""
    continued: bool = False
    """Whether the client was told `100 Continue` (gunicorn must not tell it again)."""


class GuardedThreadWorker(gthread.ThreadWorker):
    """A threaded worker whose threads never wait on a slow client (see the module)."""

    header_timeout: float = 10.0
    body_timeout: float = 10.0
    buffered_body_bytes: int = 1024 * 1024

    def handle(self, conn):
        """Serve the connection's next request once it has arrived; until then hand it back."""
        if conn.initialized and conn.is_http2:
            return super().handle(conn)
        conn.init()
        if not self.arrived(conn):
            return gthread._DEFER
        return super().handle(conn)

    def arrived(self, conn) -> bool:
        """Take what the client sent so far, without waiting; tell whether the request is in."""
        unreader = conn.parser.unreader
        held, closed = self.receive(conn.sock, unreader.take_buffered())
        unreader.unread(held)
        if closed:
            return True  # the parser reports the end of the connection
        if not held:
            return False  # an idle keep-alive connection: its own timeout applies
        now = time.monotonic()
        arrival = conn.arrival = getattr(conn, "arrival", None) or Arrival(
            deadline=now + self.header_timeout
        )
        if arrival.wanted is None and (head := head_of(held, self.max_head_bytes())) is not None:
            self.head_arrived(conn, arrival, head, now)
        return arrival.wanted is not None and len(held) >= arrival.wanted

    def receive(self, sock: socket.socket, held: bytes) -> tuple[bytes, bool]:
        """Add what the socket holds now to `held`; also say whether the client closed it."""
        sock.setblocking(False)
        try:
            while len(held) < self.max_head_bytes() + self.buffered_body_bytes:
                chunk = sock.recv(READ_SIZE)
                if not chunk:
                    return held, True
                held += chunk
        except BlockingIOError:
            pass
        finally:
            sock.setblocking(True)
        return held, False

    def head_arrived(self, conn, arrival: Arrival, head: bytes, now: float) -> None:
        """Know how much body to wait for, and until when; ask for it if the client waits."""
        body = buffered_length(head, self.buffered_body_bytes)
        arrival.wanted = len(head) + len(HEAD_END) + body
        arrival.deadline, arrival.why = now + self.body_timeout, "its body took too long"
        if body and expects_continue(head):
            conn.sock.sendall(CONTINUE)
            arrival.continued = True

    def max_head_bytes(self) -> int:
        """The longest head gunicorn's limits allow: past it, its parser refuses the request."""
        cfg = self.cfg
        fields = cfg.limit_request_fields * (cfg.limit_request_field_size + 2)
        return cfg.limit_request_line + fields + len(HEAD_END)

    def handle_request(self, req, conn):
        """Bound every read of a body still to come (large or chunked) by `body_timeout`."""
        arrival, conn.arrival = getattr(conn, "arrival", None), None
        if arrival is not None and arrival.continued:
            req._expected_100_continue = False
        conn.sock.settimeout(self.body_timeout)
        return super().handle_request(req, conn)

    def murder_pending(self):
        """Answer 408 to the waiting connections whose request is overdue, and close them."""
        now = time.monotonic()
        for conn in [conn for conn in self.pending_conns if overdue(conn, now)]:
            self.pending_conns.remove(conn)
            self.poller.unregister(conn.sock)
            self.nr_conns -= 1
            self.refuse(conn)
        super().murder_pending()

    def refuse(self, conn) -> None:
        """Answer 408 and close without waiting: gunicorn's graceful close would wait on the
        client. The answer is followed by the end of the stream, and what the client sent is
        drained first, so that closing resets the connection only if it sends more."""
        why = conn.arrival.why
        self.log.info("Closed a connection from %s: %s.", conn.client, why)
        with contextlib.suppress(OSError):  # the client may be gone already
            util.write_error(conn.sock, 408, "Request Timeout", f"Closed: {why}.")
            conn.sock.shutdown(socket.SHUT_WR)
            self.receive(conn.sock, b"")
        conn.close()


def overdue(conn, now: float) -> bool:
    arrival = getattr(conn, "arrival", None)
    return arrival is not None and now > arrival.deadline


def head_of(held: bytes, max_bytes: int) -> bytes | None:
    """Return the request's head once it is all in (or too long: the parser refuses it)."""
    end = held.find(HEAD_END)
    if end >= 0:
        return held[:end]
    return held if len(held) >= max_bytes else None


def header_values(head: bytes, name: bytes) -> list[bytes]:
    """Return the values of header `name` (lower case) in a raw request head."""
    lines = head.split(b"\r\n")[1:]
    pairs = (line.partition(b":") for line in lines)
    return [value.strip() for key, _, value in pairs if key.strip().lower() == name]


def buffered_length(head: bytes, limit: int) -> int:
    """Return the body length to wait for: a single Content-Length of at most `limit`, else 0
    (gunicorn's parser judges anything odd, and a thread reads a larger or chunked body)."""
    lengths = header_values(head, b"content-length")
    if len(lengths) != 1 or header_values(head, b"transfer-encoding"):
        return 0
    length = lengths[0]
    return int(length) if length.isdigit() and int(length) <= limit else 0


def expects_continue(head: bytes) -> bool:
    return [value.lower() for value in header_values(head, b"expect")] == [b"100-continue"]
