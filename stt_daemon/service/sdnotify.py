"""systemd's notify protocol, written by hand: one datagram per message, no dependency.

READY=1 goes out only once the daemon can serve; WATCHDOG=1 only while the
recognition worker is making progress, so a hung recognizer makes systemd
restart us, and a healthy main loop alone cannot hide it.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Mapping

from stt_daemon.periodic import Periodic

_LOGGER = logging.getLogger(__name__)


class Notifier:
    """Sends to $NOTIFY_SOCKET; does nothing when not run by systemd."""

    def __init__(self, env: Mapping[str, str] = os.environ) -> None:
        address = env.get("NOTIFY_SOCKET", "")
        self._address = "\0" + address[1:] if address.startswith("@") else address
        self._socket: socket.socket | None = None
        if self._address:
            # Non-blocking: a receiver that does not read (its queue holds ten datagrams) must
            # never freeze the watchdog thread or the start-up; an unsent ping is only a ping.
            self._socket = socket.socket(socket.AF_UNIX,
                                         socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK)
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
        except OSError as exc:  # systemd went away, or is not reading (BlockingIOError)
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


class Watchdog(Periodic):
    """Pings at half the watchdog interval while ``healthy()``; stays silent otherwise."""

    def __init__(self, notifier: Notifier, healthy: Callable[[], bool], interval_s: float) -> None:
        super().__init__("stt-watchdog", interval_s / 2, self._ping)
        self._notifier = notifier
        self._healthy = healthy
        self.missed = 0

    def _ping(self) -> bool:
        if self._healthy():
            self._notifier.send("WATCHDOG=1")
        else:
            self.missed += 1
            if self.missed == 1:
                _LOGGER.error("the recognition worker is stuck; no longer pinging the watchdog")
        return True
