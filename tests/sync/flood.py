"""A flood of half-sent requests, as a slowloris attacker or a broken proxy makes them.

Each socket connects, sends the start of a request head and then nothing. While the flood
runs, a socket the server closes is opened again, up to `rate` new sockets a second, so the
server faces up to `size` such sockets all along; `hold()` stops the reopening, so that the
test can watch the server close what is left.
"""

from __future__ import annotations

import errno
import resource
import selectors
import socket
import threading
import time

PARTIAL = b"GET /v1/health HTTP/1.1\r\nHost: flood\r\nX-Slow: "


def raise_own_fd_limit(needed: int) -> bool:
    """Raise this process's soft limit of open files to at least `needed`, if allowed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return True
    if hard != resource.RLIM_INFINITY and hard < needed:
        return False
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    return True


class Flood:
    def __init__(self, host: str, port: int, size: int, rate: float) -> None:
        self.address = (host, port)
        self.size = size
        self.rate = rate
        self.opened = 0  # connections made and half a request sent, in all
        self.closed_by_server = 0
        self.refused = 0  # connects that failed (the server's backlog was full)
        self._selector = selectors.DefaultSelector()
        self._live: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._reopen = True
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="flood", daemon=True)

    @property
    def live(self) -> int:
        """Sockets connected and not yet closed by the server."""
        with self._lock:
            return len(self._live)

    def start(self) -> Flood:
        self._thread.start()
        return self

    def hold(self) -> None:
        """Stop reopening: from now on the count of live sockets only falls."""
        self._reopen = False

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)
        for key in list(self._selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
        self._selector.close()

    def _connect(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        code = sock.connect_ex(self.address)
        if code not in (0, errno.EINPROGRESS):
            sock.close()
            self.refused += 1
            return
        self._selector.register(sock, selectors.EVENT_WRITE, "connecting")

    def _run(self) -> None:
        pending, started, made = self.size, time.monotonic(), 0
        while not self._stop.is_set():
            allowed = self.size + self.rate * (time.monotonic() - started)
            while pending and self._reopen and made < allowed:
                self._connect()
                pending -= 1
                made += 1
            for key, _ in self._selector.select(timeout=0.05):
                sock: socket.socket = key.fileobj  # type: ignore[assignment]
                if key.data == "connecting":
                    if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                        self._selector.unregister(sock)
                        sock.close()
                        self.refused += 1
                        pending += 1
                        continue
                    sock.send(PARTIAL)
                    self._selector.modify(sock, selectors.EVENT_READ, "open")
                    with self._lock:
                        self._live.add(sock)
                    self.opened += 1
                    continue
                try:
                    data = sock.recv(4096)
                except OSError:
                    data = b""
                if data:  # an answer (408, 503): the server closes next; keep reading
                    continue
                self._selector.unregister(sock)
                sock.close()
                with self._lock:
                    self._live.discard(sock)
                self.closed_by_server += 1
                pending += 1
            if not self._reopen:
                pending = 0
