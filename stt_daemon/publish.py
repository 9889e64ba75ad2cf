"""Fan events out to every sink, stamping the latency once for all of them."""

from __future__ import annotations

import logging
import collections
import threading
import time
from collections.abc import Iterable
from typing import Protocol

from stt_daemon.events import Event, Final

_LOGGER = logging.getLogger(__name__)


class Sink(Protocol):
    name: str

    def publish(self, event: Event, latency_ms: float) -> None: ...


class Publisher:
    """Calls each sink in turn; a sink that raises is logged and skipped, never fatal."""

    def __init__(self, sinks: Iterable[Sink] = ()) -> None:
        self._sinks: list[Sink] = list(sinks)

    def add(self, sink: Sink) -> None:
        self._sinks = [*self._sinks, sink]

    def publish(self, event: Event) -> float:
        """Returns the latency in ms that the event carried."""
        latency_ms = (time.monotonic_ns() - event.captured_ns) / 1e6
        for sink in self._sinks:
            try:
                sink.publish(event, latency_ms)
            except Exception:
                _LOGGER.exception("sink %s failed; carrying on with the others", sink.name)
        return latency_ms


class RecentFinals:
    """The last finals, in memory only, for clients that join late (D-Bus GetRecent)."""

    name = "recent"

    def __init__(self, keep: int = 100) -> None:
        self._finals: collections.deque[Final] = collections.deque(maxlen=keep)
        self._lock = threading.Lock()

    def publish(self, event: Event, latency_ms: float) -> None:
        if isinstance(event, Final) and event.text:
            with self._lock:
                self._finals.append(event)

    def last(self, count: int) -> list[Final]:
        with self._lock:
            finals = list(self._finals)
        return finals[-count:] if count > 0 else []
