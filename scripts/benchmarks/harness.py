"""The daemon side of every comparison: the shipped pipeline with the sinks it really has.

The controller, worker and sinks are those of `stt-daemon serve --stdout --json
--partials`: stdout is a real pipe that a thread reads as a consumer would, and
D-Bus signals go out on a private session bus. The bare side (devkit/bare.py)
reads the same kind of audio source, so both stamp a block at the same point. With
``keep_lines``, each stdout line is kept with the moment the reading thread got it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stt_daemon.asr.base import Transcriber
from stt_daemon.audio.blocks import AudioSource
from stt_daemon.control.controller import Controller
from stt_daemon.events import Event
from stt_daemon.output.publish import Publisher, QueuedSink, RecentFinals
from stt_daemon.output.stdout import StdoutFormat, StdoutSink
from stt_daemon.settings import Settings


class _EmitStamps:
    """Remembers when each event went out on D-Bus (CLOCK_MONOTONIC, shared by processes)."""

    name = "dbus-stamps"

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.sent: dict[tuple[str, int, str], list[int]] = {}  # a text can come back in a later partial

    def publish(self, event: Event) -> None:
        self.sent.setdefault((type(event).__name__, event.utterance, event.raw), []).append(time.monotonic_ns())
        self._inner.publish(event)


@dataclass
class DaemonRun:
    latencies_ms: list[float]  # per decoded block, capture to the last sink done
    stats: dict[str, float | int]
    stdout_lines: int
    cpu_s: float
    wall_s: float
    emitted: dict[tuple[str, int, str], list[int]] = field(default_factory=dict)
    finals: list[str] = field(default_factory=list)
    lines: list[tuple[int, str]] = field(default_factory=list)  # (monotonic ns at arrival, line)


class DaemonSide:
    def __init__(self, transcriber: Transcriber, source: AudioSource, settings: Settings,
                 with_bus: bool = True, keep_lines: bool = False) -> None:
        """With ``with_bus``, $DBUS_SESSION_BUS_ADDRESS must name a private bus. With
        ``keep_lines``, ``lines`` fills as stdout lines arrive (others may read it meanwhile)."""
        self.source = source
        self.lines: list[tuple[int, str]] | None = [] if keep_lines else None
        read_fd, write_fd = os.pipe()
        self._pipe = os.fdopen(write_fd, "w", encoding="utf-8")
        self._stdout = QueuedSink(StdoutSink(StdoutFormat(json=True, partials=True), self._pipe))
        self._lines = 0
        self._reader = threading.Thread(target=self._read, args=(read_fd,), daemon=True)
        self._reader.start()
        self._recent = RecentFinals()
        self.publisher = Publisher([self._recent, self._stdout])
        self.controller = Controller(source, transcriber, self.publisher, settings, latency_window_s=3600)
        self._stamps: _EmitStamps | None = None
        self._publication: Any = None
        if with_bus:
            from stt_daemon.bus.connection import Publication, connect_session_bus
            from stt_daemon.bus.service import DbusSink, SttDaemonObject

            obj = SttDaemonObject(self.controller, self._recent)
            self._stamps = _EmitStamps(DbusSink(obj))
            self.publisher.add(self._stamps)
            self._publication = Publication(connect_session_bus(), obj)
            self._publication.own_name()

    def _read(self, fd: int) -> None:
        with os.fdopen(fd, "r", encoding="utf-8") as stream:
            for line in stream:
                if self.lines is not None:
                    self.lines.append((time.monotonic_ns(), line))
                self._lines += 1

    def run(self, until: Callable[[], bool] = lambda: False, started: Callable[[], None] = lambda: None
            ) -> DaemonRun:
        """Open the source, run until it ends or ``until()``; ``started`` runs once listening."""
        cpu0, wall0 = time.process_time(), time.monotonic()
        self.source.start()
        self.controller.start()
        started()
        while self.controller.running() and not until():
            time.sleep(0.02)
        self.controller.stop()
        self.publisher.close()
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        self._pipe.close()
        self._reader.join(10)
        if self._publication is not None:
            self._publication.close()
        return DaemonRun(self.controller.worker.monitor.samples_ms(), self.controller.stats(), self._lines,
                         cpu, wall, dict(self._stamps.sent) if self._stamps else {},
                         [f.text for f in self._recent.last(100)], list(self.lines or []))
