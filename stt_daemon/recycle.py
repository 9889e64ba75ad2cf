"""Replace the recognizer before it grows too big, without a stall on the hot path.

Measured: one recognizer streaming 117 minutes grew from 537 MB to 1111 MB.
A replacement is built and warmed on a thread of its own (Vosk's C calls
release the GIL), then swapped in by the worker between utterances.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

from stt_daemon.recognizer import Backend, Recognizer
from stt_daemon.warmup import warm_up

_LOGGER = logging.getLogger(__name__)


def rss_mb() -> float:
    """Resident set size of this process, from /proc (no extra dependency)."""
    with open("/proc/self/statm", encoding="ascii") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def lower_this_threads_priority(niceness: int = 10) -> None:
    """Background builds (a replacement recognizer, a reloaded model) yield the CPU to the
    real-time worker; on Linux the nice value is per thread."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
    except OSError:
        pass


def release_freed_memory() -> None:
    """glibc keeps freed heap pages; hand them back after dropping a recognizer."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


@dataclass(frozen=True)
class RecyclePolicy:
    # Vosk's feature pipeline alone grows ~50 MB over each 10 min of audio, then Vosk drops
    # it: growth beyond that is the decoder's, which is what recycling is for.
    max_growth_mb: float = 200.0  # RSS above the level seen after the last swap
    max_audio_s: float = 4 * 3600.0  # audio one recognizer may decode


class Recycler:
    """Decides when to recycle; builds the replacement off the worker thread."""

    def __init__(self, make_backend: Callable[[], Backend], policy: RecyclePolicy,
                 rss: Callable[[], float] = rss_mb) -> None:
        self._make_backend = make_backend
        self._policy = policy
        self._rss = rss
        self._baseline_mb = rss()
        self._ready: Backend | None = None
        self._building: threading.Thread | None = None
        self.recycled = 0

    def _due(self, recognizer: Recognizer) -> bool:
        return (recognizer.backend_audio_s >= self._policy.max_audio_s
                or self._rss() - self._baseline_mb >= self._policy.max_growth_mb)

    def _build(self) -> None:
        lower_this_threads_priority()
        try:
            backend = self._make_backend()
            warm_up(backend)
            self._ready = backend
        except Exception:
            _LOGGER.exception("building a replacement recognizer failed; keeping the current one")
            self._building = None

    def replace(self, make_backend: Callable[[], Backend]) -> None:
        """Serve from a new factory (a reloaded model): build now, swap at the next boundary."""
        self._make_backend = make_backend
        self._ready = None
        self._building = threading.Thread(target=self._build, name="stt-recycle", daemon=True)
        self._building.start()

    @property
    def pending(self) -> bool:
        return self._ready is not None

    def between_utterances(self, recognizer: Recognizer) -> None:
        """Called by the worker when no utterance is open: start a build, or swap in a finished one."""
        if self._ready is not None:
            old = recognizer.swap_backend(self._ready)
            self._ready = None
            self._building = None
            self.recycled += 1
            del old
            release_freed_memory()
            self._baseline_mb = self._rss()
            _LOGGER.info("recognizer recycled (#%d); RSS %.0f MB", self.recycled, self._baseline_mb)
        elif self._building is None and self._due(recognizer):
            _LOGGER.info("recognizer due for recycling (%.0f s of audio, RSS %.0f MB); building a new one",
                         recognizer.backend_audio_s, self._rss())
            self._building = threading.Thread(target=self._build, name="stt-recycle", daemon=True)
            self._building.start()
