"""Replace the recognizer before it grows too big, or when a new model is loaded, without
a stall on the hot path.

Vosk's working set grows fast at first (measured with a bare loop: 556 MB at start, 664 at
30 s of audio, 769 at 2 min, 835 at 4 min) because its feature pipeline keeps every frame
until it holds 10 minutes of them; after that it grows slowly (the daemon's soak: +2.5 % in
the next 50 minutes). So growth counts from the level reached after a session's first
10 minutes of audio, never from its start, and a session is also replaced after some hours.

A replacement session is built and warmed on a thread of its own at a lower
priority (Vosk's C calls release the GIL), then handed to the worker as a
command. The worker alone decides when to build and which build to use: every
build carries a generation number, and a build older than the newest request
is dropped, so a slow build can never replace a newer one.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

from stt_daemon.asr.base import StreamingSession, Transcriber
from stt_daemon.pipeline.warmup import warm_up

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


#: Audio after which a session's working set has reached its plateau (Vosk's 10-minute cycle).
PLATEAU_AUDIO_S = 600.0


@dataclass(frozen=True)
class RecyclePolicy:
    max_growth_mb: float  # RSS above the level at the session's plateau
    max_audio_s: float  # audio one session may decode


Deliver = Callable[[StreamingSession | None, int], None]


def build_in_background(transcriber: Transcriber, generation: int, warm: bool, deliver: Deliver) -> None:
    """Make a session from ``transcriber`` on a low-priority thread; ``deliver`` gets it
    (or None when the build failed) with ``generation``."""

    def build() -> None:
        lower_this_threads_priority()
        try:
            session = transcriber.session()
            if warm:
                warm_up(session)
        except Exception:
            _LOGGER.exception("building a recognizer from %s failed; keeping the current one",
                              transcriber.name)
            deliver(None, generation)
            return
        deliver(session, generation)

    threading.Thread(target=build, name=f"stt-build-{generation}", daemon=True).start()


class Recycling:
    """The worker's own bookkeeping of builds: touched by the worker thread only."""

    def __init__(self, policy: RecyclePolicy, rss: Callable[[], float] = rss_mb) -> None:
        self.policy = policy
        self._rss = rss
        self.baseline_mb: float | None = None  # RSS once the session reached its plateau
        self.generation = 0  # of the newest build asked for
        self.building = False
        self.pending: StreamingSession | None = None  # ready, to be swapped in at a boundary
        self.recycled = 0  # sessions swapped in
        self.stale = 0  # builds that finished after a newer one was asked for, dropped

    def due(self, session_audio_s: float) -> bool:
        if self.building or self.pending is not None:
            return False
        if session_audio_s >= self.policy.max_audio_s:
            return True
        if self.baseline_mb is None:
            if session_audio_s >= PLATEAU_AUDIO_S:
                self.baseline_mb = self._rss()
            return False
        return self._rss() - self.baseline_mb >= self.policy.max_growth_mb

    def next_generation(self) -> int:
        self.generation += 1
        self.building = True
        self.pending = None  # a newer request outranks a build that is ready but not yet used
        return self.generation

    def arrived(self, session: StreamingSession | None, generation: int) -> bool:
        """True when ``session`` is the newest build (it becomes pending)."""
        if generation != self.generation:
            self.stale += 1
            _LOGGER.info("dropped a recognizer build (#%d) that a newer one (#%d) replaces",
                         generation, self.generation)
            return False
        self.building = False
        self.pending = session
        return session is not None

    def swapped(self) -> None:
        self.pending = None
        self.recycled += 1
        release_freed_memory()
        self.baseline_mb = None  # the new session reaches its own plateau
        _LOGGER.info("recognizer replaced (#%d); RSS %.0f MB", self.recycled, self._rss())
