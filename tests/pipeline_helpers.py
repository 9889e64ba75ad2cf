"""Run the real pipeline in-process (real model, real WAV source) and collect what it publishes."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stt_daemon.controller import Controller
from stt_daemon.events import Event, Final
from stt_daemon.publish import Publisher
from stt_daemon.recognizer import Backend
from stt_daemon.settings import SAMPLE_RATE, AudioSettings, EngineSettings
from stt_daemon.vosk_backend import Hypothesis
from stt_daemon.wavfile import WavSource


class Collect:
    """Records events with the stream position (s) at which the engine published them."""

    name = "collect"

    def __init__(self) -> None:
        self.events: list[tuple[float, Event]] = []
        self._lock = threading.Lock()
        self.controller: Controller | None = None

    def publish(self, event: Event, latency_ms: float) -> None:
        engine = self.controller.engine if self.controller is not None else None
        position_s = engine.blocks_consumed * 0.02 if engine is not None else 0.0
        with self._lock:
            self.events.append((position_s, event))

    def finals(self) -> list[Final]:
        return [e for _, e in self.events if isinstance(e, Final)]

    def final_positions_s(self) -> list[float]:
        return [pos for pos, e in self.events if isinstance(e, Final) and e.text]


def run_file(model: Any, path: Path, engine: EngineSettings, realtime: bool = False,
             make_backend: Callable[[], Backend] | None = None) -> tuple[Collect, Controller]:
    sink = Collect()
    source = WavSource.open(path, AudioSettings(realtime=realtime))
    controller = Controller(model, source, Publisher([sink]), engine, make_backend=make_backend)
    sink.controller = controller
    controller.start()
    while controller.running():
        time.sleep(0.05)
    controller.stop()
    return sink, controller


def concat(clips: list[Path], out: Path, gap_s: float = 1.5) -> Path:
    """Clips joined with ``gap_s`` of silence after each one (sox pads per clip, then joins)."""
    parts = []
    for i, clip in enumerate(clips):
        part = out.with_name(f"{out.stem}.{i}.wav")
        subprocess.run(["sox", str(clip), str(part), "pad", "0", str(gap_s)], check=True)
        parts.append(str(part))
    subprocess.run(["sox", *parts, str(out)], check=True)
    return out


class DelegatingBackend:
    """A real backend passed through; fault injectors override accept()."""

    def __init__(self, inner: Backend) -> None:
        self._inner = inner

    @property
    def samples_fed(self) -> int:
        return self._inner.samples_fed

    def accept(self, pcm: bytes) -> bool:
        return self._inner.accept(pcm)

    def partial(self) -> str:
        return self._inner.partial()

    def result(self) -> Hypothesis:
        return self._inner.result()

    def final(self) -> Hypothesis:
        return self._inner.final()

    def reset(self) -> None:
        self._inner.reset()


class SlowBackend(DelegatingBackend):
    """Fault injector: a real backend whose accept() sleeps while the stream is inside
    [from_s, to_s). A CPU overload cannot be produced on cue and repeatably on a shared
    2-core machine, so the slowness is injected around the real recognizer."""

    def __init__(self, inner: Backend, delay_s: float, from_s: float, to_s: float) -> None:
        super().__init__(inner)
        self._delay_s = delay_s
        self._window = (int(from_s * SAMPLE_RATE), int(to_s * SAMPLE_RATE))
        self.slow_calls = 0

    def accept(self, pcm: bytes) -> bool:
        if self._window[0] <= self._inner.samples_fed < self._window[1]:
            self.slow_calls += 1
            time.sleep(self._delay_s)
        return self._inner.accept(pcm)


class StallingBackend(DelegatingBackend):
    """Fault injector: accept() blocks while ``stalled`` is set, until ``released``. A
    recognizer stuck inside Vosk cannot be produced on demand, so the stall is injected."""

    def __init__(self, inner: Backend) -> None:
        super().__init__(inner)
        self.stalled = threading.Event()
        self.released = threading.Event()

    def accept(self, pcm: bytes) -> bool:
        if self.stalled.is_set():
            self.released.wait()
        return super().accept(pcm)
