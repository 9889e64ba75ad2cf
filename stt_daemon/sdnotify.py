"""systemd's notify protocol, written by hand: one datagram per message, no dependency.

READY=1 goes out only once the daemon can serve; WATCHDOG=1 only while the
recognition worker is making progress, so a hung recognizer makes systemd
restart us, and a healthy main loop alone cannot hide it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping

_LOGGER = logging.getLogger(__name__)


class Notifier:
    """Sends to $NOTIFY_SOCKET; does nothing when not run by systemd."""

    def __init__(self, env: Mapping[str, str] = os.environ) -> None:
        address = env.get("NOTIFY_SOCKET", "")
        self._address = "\0" + address[1:] if address.startswith("@") else address
        self._socket: socket.socket | None = None
        if self._address:
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self.watchdog_interval_s = self._watchdog_interval(env)

    @staticmethod
    def _watchdog_interval(env: Mapping[str, str]) -> float | None:
        usec = env.get("WATCHDOG_USEC")
        pid = env.get("WATCHDOG_PID")
        if not usec or (pid and pid != str(os.getpid())):
            return None
        return int(usec) / 1e6

    @property
    def enabled(self) -> bool:
        return self._socket is not None

    def send(self, *fields: str) -> None:
        if self._socket is None:
            return
        try:
            self._socket.sendto("\n".join(fields).encode("utf-8"), self._address)
        except OSError as exc:  # systemd went away; nothing to tell
            _LOGGER.debug("sd_notify failed: %s", exc)

    def ready(self, status: str) -> None:
        self.send("READY=1", f"STATUS={status}")

    def status(self, status: str) -> None:
        self.send(f"STATUS={status}")

    def stopping(self) -> None:
        self.send("STOPPING=1", "STATUS=stopping")

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


class Watchdog:
    """Pings at half the watchdog interval while ``healthy()``; stays silent otherwise."""

    def __init__(self, notifier: Notifier, healthy: Callable[[], bool], interval_s: float) -> None:
        self._notifier = notifier
        self._healthy = healthy
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stt-watchdog", daemon=True)
        self.missed = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s / 2):
            if self._healthy():
                self._notifier.send("WATCHDOG=1")
            else:
                self.missed += 1
                if self.missed == 1:
                    _LOGGER.error("the recognition worker is stuck; no longer pinging the watchdog")
