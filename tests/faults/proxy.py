"""A TCP proxy that fails on demand, placed between jobdesk and PostgreSQL or Redis.

Modes: `restore()` passes bytes both ways; `refuse()` closes every connection with a reset
and refuses new ones (the port is closed, as for a server that is down); `hang()` keeps every
connection open and accepts new ones, but forwards nothing (a server or network path that
stopped answering). A blip is `refuse()` then `restore()` around what the test does.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterator

ACCEPT_POLL_SECONDS = 0.05


class FaultProxy:
    """Forward 127.0.0.1:`port` to `target`; fail on demand (see the module)."""

    def __init__(self, target: tuple[str, int], port: int = 0) -> None:
        self.target = target
        self.flowing = threading.Event()
        self.flowing.set()
        self.lock = threading.Lock()
        self.sockets: set[socket.socket] = set()
        self.closed = False
        self.listener: socket.socket | None = self.listen(port)
        self.port = self.listener.getsockname()[1]
        self.acceptor = threading.Thread(target=self.accept_loop, daemon=True)
        self.acceptor.start()

    @staticmethod
    def listen(port: int) -> socket.socket:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(128)
        listener.settimeout(ACCEPT_POLL_SECONDS)
        return listener

    def refuse(self) -> None:
        """Reset every connection and refuse new ones."""
        with self.lock:
            if self.listener is not None:
                reset(self.listener)
                self.listener = None
            for sock in self.sockets:
                reset(sock)
            self.sockets.clear()
        self.flowing.set()  # let the forwarding threads see their sockets are gone

    def hang(self) -> None:
        """Accept connections and keep them open, but forward nothing."""
        self.flowing.clear()

    def restore(self) -> None:
        """Forward again, on the same port."""
        with self.lock:
            if self.listener is None and not self.closed:
                self.listener = self.listen(self.port)
        self.flowing.set()

    @contextlib.contextmanager
    def refusing(self) -> Iterator[None]:
        """Refuse connections inside the block (a blip), then forward again."""
        self.refuse()
        try:
            yield
        finally:
            self.restore()

    def close(self) -> None:
        self.closed = True
        self.refuse()
        self.acceptor.join()

    def accept_loop(self) -> None:
        while not self.closed:
            listener = self.listener
            if listener is None:
                self.flowing.wait(ACCEPT_POLL_SECONDS)
                continue
            try:
                client, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self.connect, args=(client,), daemon=True).start()

    def connect(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target)
        except OSError:
            reset(client)
            return
        with self.lock:
            self.sockets.update((client, upstream))
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=self.forward, args=(source, sink), daemon=True).start()

    def forward(self, source: socket.socket, sink: socket.socket) -> None:
        """Copy bytes from `source` to `sink`, holding them while the proxy hangs."""
        try:
            while data := source.recv(65536):
                self.flowing.wait()
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self.lock:
                self.sockets.difference_update((source, sink))
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()


def reset(sock: socket.socket) -> None:
    """Close `sock` with a TCP reset, as a crashed server's host would (a listener: at once)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # Wakes a thread blocked reading it, which close() alone would not.
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
