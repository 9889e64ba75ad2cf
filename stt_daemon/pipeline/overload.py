"""What the engine does when blocks miss the latency budget: a ladder, up and back down.

  0 normal        partials after every block
  1 fewer partials  partials only every 240 ms (Vosk's chunk), while behind
  2 catch up      hand all queued blocks to Vosk in one call
  3 warn          a warning on stderr, at most once per ``warn_interval_s``

Each step up needs a longer run of consecutive blocks over budget; each step
down needs ``recover_after`` consecutive blocks under budget with an empty
queue. Audio is never dropped here: only a full queue drops, and counts it.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable

_LOGGER = logging.getLogger(__name__)


class Level(enum.IntEnum):
    NORMAL = 0
    FEWER_PARTIALS = 1
    CATCH_UP = 2
    WARN = 3


class OverloadLadder:
    def __init__(self, budget_ms: float, escalate_after: tuple[int, int, int] = (1, 5, 25),
                 recover_after: int = 50, warn_interval_s: float = 10.0,
                 clock: Callable[[], int] = time.monotonic_ns) -> None:
        self._budget_ns = int(budget_ms * 1e6)
        self._escalate_after = escalate_after
        self._recover_after = recover_after
        self._warn_interval_ns = int(warn_interval_s * 1e9)
        self._clock = clock
        self.level = Level.NORMAL
        self._over_streak = 0
        self._under_streak = 0
        self._last_warn_ns: int | None = None
        self.escalations = 0
        self.max_level = Level.NORMAL

    def set_budget_ms(self, budget_ms: float) -> None:
        self._budget_ns = int(budget_ms * 1e6)

    def update(self, total_ns: int, queue_depth: int) -> Level:
        """Feed one block's total latency and the queue depth after it; returns the level."""
        if total_ns > self._budget_ns:
            self._over_streak += 1
            self._under_streak = 0
            target = sum(1 for n in self._escalate_after if self._over_streak >= n)
            if target > self.level:
                self.level = Level(target)
                self.escalations += 1
                self.max_level = max(self.max_level, self.level)
                _LOGGER.debug("over budget for %d blocks: overload level %d", self._over_streak, target)
        else:
            self._over_streak = 0
            if queue_depth <= 1:
                self._under_streak += 1
            if self._under_streak >= self._recover_after and self.level > Level.NORMAL:
                self.level = Level(self.level - 1)
                self._under_streak = 0
        return self.level

    def should_warn(self, urgent: bool = False) -> bool:
        """True at WARN level (or when ``urgent``, say new drops) and the last warning is old enough."""
        if self.level < Level.WARN and not urgent:
            return False
        now = self._clock()
        if self._last_warn_ns is not None and now - self._last_warn_ns < self._warn_interval_ns:
            return False
        self._last_warn_ns = now
        return True
