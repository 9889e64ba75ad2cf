"""A stand-in for systemd's notify socket: a unix datagram socket bound by the test."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


class NotifySocket:
    """A unix datagram socket bound by the test, standing in for systemd's."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.messages: list[tuple[float, str]] = []
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(path))
        self._sock.settimeout(0.1)
        self._stop = threading.Event()
        self.on_message: Any = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._sock.recv(4096).decode()
            except socket.timeout:
                continue
            for line in data.splitlines():
                self.messages.append((time.monotonic(), line))
                if self.on_message is not None:
                    self.on_message(line)

    def lines(self, prefix: str) -> list[str]:
        return [m for _, m in self.messages if m.startswith(prefix)]

    def wait_for_count(self, line: str, count: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.lines(line)) < count:
            assert time.monotonic() < deadline, f"fewer than {count} {line!r} in {timeout_s} s"
            time.sleep(0.02)

    def wait_for(self, line: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if any(m == line for _, m in self.messages):
                return
            time.sleep(0.02)
        raise AssertionError(f"no {line!r}; got {[m for _, m in self.messages]}")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._sock.close()


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[NotifySocket]:
    sock = NotifySocket(tmp_path / "notify")
    yield sock
    sock.close()
