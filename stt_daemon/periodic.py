"""A background action every so often (the watchdog's pings, the --stats line)."""

from __future__ import annotations

import threading
from collections.abc import Callable


class Periodic:
    """Calls ``tick`` every ``interval_s`` on a thread of its own, until ``stop`` or until
    ``tick`` returns False."""

    def __init__(self, name: str, interval_s: float, tick: Callable[[], bool]) -> None:
        self._interval_s = interval_s
        self._tick = tick
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s) and self._tick():
            pass
