"""Per-block latency, from capture to the moment the last sink is done.

Each block's stages (queue wait, recognizer, publish) and total go into
preallocated rings covering the rolling window; percentiles are computed only
when someone asks (--stats, GetStats), never on the hot path.

Events get a ring of their own: a partial or final comes out of one block in about
twelve (one decode chunk), and it is that block that waits on Vosk, so a per-block p99
hides the events' tail. An event's latency runs from the capture of the newest block
that went into it to the moment every sink had it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np


_EVENT_RING = 2048


@dataclass(frozen=True)
class EventLatency:
    n: int  # in the ring (the last 2048 events)
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float


@dataclass(frozen=True)
class LatencySummary:
    blocks: int  # since start
    window_blocks: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    over_budget: int  # since start
    over_budget_window: int
    queue_p99_ms: float
    recognizer_p99_ms: float
    publish_p99_ms: float


class LatencyMonitor:
    """Rolling per-block latency over ``window_s`` of audio."""

    def __init__(self, budget_ms: float = 50.0, window_s: float = 30.0, block_ms: int = 20) -> None:
        self.budget_ms = budget_ms
        self._budget_ns = int(budget_ms * 1e6)
        size = max(1, int(window_s * 1000 / block_ms))
        self._rings = np.zeros((4, size), dtype=np.int64)  # total, queue, recognizer, publish
        self._size = size
        self._next = 0
        self._filled = 0
        self.blocks = 0
        self.over_budget = 0
        self._events = np.zeros(_EVENT_RING, dtype=np.int64)
        self._events_seen = 0
        self._lock = threading.Lock()

    def set_budget_ms(self, budget_ms: float) -> None:
        self.budget_ms = budget_ms
        self._budget_ns = int(budget_ms * 1e6)

    def record(self, captured_ns: int, dequeued_ns: int, recognized_ns: int, published_ns: int) -> int:
        """Store one block's figures; returns its total latency in ns."""
        total_ns = published_ns - captured_ns
        with self._lock:
            column = self._rings[:, self._next]
            column[0] = total_ns
            column[1] = dequeued_ns - captured_ns
            column[2] = recognized_ns - dequeued_ns
            column[3] = published_ns - recognized_ns
            self._next = (self._next + 1) % self._size
            if self._filled < self._size:
                self._filled += 1
            self.blocks += 1
            if total_ns > self._budget_ns:
                self.over_budget += 1
        return total_ns

    def record_event(self, captured_ns: int, published_ns: int) -> None:
        with self._lock:
            self._events[self._events_seen % _EVENT_RING] = published_ns - captured_ns
            self._events_seen += 1

    def _event_window(self) -> np.ndarray[tuple[int], np.dtype[np.int64]]:
        with self._lock:
            return self._events[: min(self._events_seen, _EVENT_RING)].copy()

    def event_samples_ms(self) -> list[float]:
        return [float(v) / 1e6 for v in self._event_window()]

    def event_summary(self) -> EventLatency:
        window = self._event_window()
        if window.size == 0:
            return EventLatency(0, 0.0, 0.0, 0.0, 0.0)
        p50, p90, p99 = (round(float(v) / 1e6, 2) for v in np.percentile(window, [50, 90, 99]))
        return EventLatency(int(window.size), p50, p90, p99, round(float(window.max()) / 1e6, 2))

    def samples_ms(self) -> list[float]:
        """Every total in the window, in ring order: enough for a benchmark's percentiles."""
        with self._lock:
            return [float(v) / 1e6 for v in self._rings[0, : self._filled]]

    def summary(self) -> LatencySummary:
        with self._lock:
            window = self._rings[:, : self._filled].copy()
            blocks, over = self.blocks, self.over_budget
        if window.shape[1] == 0:
            return LatencySummary(blocks, 0, 0.0, 0.0, 0.0, 0.0, over, 0, 0.0, 0.0, 0.0)
        total = window[0]
        p50, p95, p99 = (round(float(v) / 1e6, 2) for v in np.percentile(total, [50, 95, 99]))
        stage_p99 = [round(float(np.percentile(window[i], 99)) / 1e6, 2) for i in (1, 2, 3)]
        return LatencySummary(blocks, int(total.size), p50, p95, p99, round(float(total.max()) / 1e6, 2),
                              over, int((total > self._budget_ns).sum()), *stage_p99)
