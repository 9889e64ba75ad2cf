"""Fan events out to every sink. A sink that may block gets a thread and a bounded queue.

The worker publishes inline to sinks that never wait (D-Bus signals, which GDBus
queues itself; the recent-finals ring). A sink that can stall (stdout into a
pipe nobody reads, a slow typing tool) runs behind ``QueuedSink``, so the
worker never waits for it: a full queue drops the event and counts it.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from typing import Protocol

from stt_daemon.events import Event, Final

_LOGGER = logging.getLogger(__name__)

_WARN_EVERY_NS = 10_000_000_000


class Sink(Protocol):
    name: str

    def publish(self, event: Event) -> None: ...


class QueuedSink:
    """Runs ``inner`` on a thread of its own; ``publish`` never blocks."""

    def __init__(self, inner: Sink, max_events: int = 512) -> None:
        self.inner = inner
        self.name = inner.name
        self._queue: queue.Queue[Event | Callable[[], None] | None] = queue.Queue(max_events)
        self.drops = 0
        self._warned_ns = -_WARN_EVERY_NS
        self._thread = threading.Thread(target=self._run, name=f"stt-sink-{inner.name}", daemon=True)
        self._thread.start()

    def publish(self, event: Event) -> None:
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.drops += 1
            now = time.monotonic_ns()
            if now - self._warned_ns >= _WARN_EVERY_NS:
                self._warned_ns = now
                _LOGGER.warning("%s is not keeping up: %d events dropped so far", self.name, self.drops)

    def call(self, action: Callable[[], None]) -> None:
        """Run ``action`` on the sink's thread, in order with the events (a settings change)."""
        self._queue.put(action)

    def depth(self) -> int:
        return self._queue.qsize()

    def close(self, timeout_s: float = 2.0) -> None:
        """Deliver what is queued, then end the thread (within ``timeout_s``)."""
        try:
            self._queue.put(None, timeout=timeout_s)
        except queue.Full:
            _LOGGER.warning("%s is stuck; %d events not delivered", self.name, self._queue.qsize())
            return
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                if callable(item):
                    item()
                else:
                    self.inner.publish(item)
            except Exception:
                _LOGGER.exception("sink %s failed; carrying on", self.name)


class Publisher:
    """Calls each sink in turn; a sink that raises is logged and skipped, never fatal."""

    def __init__(self, sinks: Iterable[Sink] = ()) -> None:
        self._sinks: list[Sink] = list(sinks)

    def add(self, sink: Sink) -> None:
        self._sinks = [*self._sinks, sink]

    def publish(self, event: Event) -> None:
        for sink in self._sinks:
            try:
                sink.publish(event)
            except Exception:
                _LOGGER.exception("sink %s failed; carrying on with the others", sink.name)

    def drops(self) -> int:
        return sum(s.drops for s in self._sinks if isinstance(s, QueuedSink))

    def close(self) -> None:
        """Flush the queued sinks (the last final must reach stdout before we exit)."""
        for sink in self._sinks:
            if isinstance(sink, QueuedSink):
                sink.close()


class RecentFinals:
    """The last finals, in memory only, for clients that join late (D-Bus GetRecent)."""

    name = "recent"

    def __init__(self, keep: int = 100) -> None:
        self._finals: collections.deque[Final] = collections.deque(maxlen=keep)
        self._lock = threading.Lock()

    def publish(self, event: Event) -> None:
        if isinstance(event, Final) and event.text:
            with self._lock:
                self._finals.append(event)

    def last(self, count: int) -> list[Final]:
        with self._lock:
            finals = list(self._finals)
        return finals[-count:] if count > 0 else []
