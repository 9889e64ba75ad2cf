"""Per-block latency, from capture to the moment the last sink is done."""

from __future__ import annotations

import threading

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LatencySummary:
    blocks: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    over_budget: int


class LatencyMonitor:
    """Keeps the last ``window_blocks`` totals in a preallocated ring; no allocation per block."""

    def __init__(self, budget_ms: float = 50.0, window_blocks: int = 1500) -> None:
        self.budget_ms = budget_ms
        self._budget_ns = int(budget_ms * 1e6)
        self._totals_ns = np.zeros(window_blocks, dtype=np.int64)
        self._next = 0
        self._filled = 0
        self.blocks = 0
        self.over_budget = 0
        self._lock = threading.Lock()

    def record(self, captured_ns: int, dequeued_ns: int, recognized_ns: int, published_ns: int) -> None:
        total_ns = published_ns - captured_ns
        with self._lock:
            self._totals_ns[self._next] = total_ns
            self._next = (self._next + 1) % len(self._totals_ns)
            self._filled = min(self._filled + 1, len(self._totals_ns))
            self.blocks += 1
            if total_ns > self._budget_ns:
                self.over_budget += 1

    def summary(self) -> LatencySummary:
        with self._lock:
            window = self._totals_ns[: self._filled].copy()
        if len(window) == 0:
            return LatencySummary(self.blocks, 0.0, 0.0, 0.0, 0.0, self.over_budget)
        p50, p95, p99 = np.percentile(window, [50, 95, 99]) / 1e6
        return LatencySummary(self.blocks, round(float(p50), 2), round(float(p95), 2),
                              round(float(p99), 2), round(float(window.max()) / 1e6, 2),
                              self.over_budget)


