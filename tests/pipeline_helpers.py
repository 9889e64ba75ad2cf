"""Run the real pipeline in-process (real model, real WAV audio) and collect what it publishes,
plus the fault injectors the fault tests wrap around a real recognizer."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from stt_daemon.asr.base import Hypothesis, StreamingSession, Transcriber
from stt_daemon.audio.blocks import AudioSource, Block
from stt_daemon.audio.wavfile import WavSource
from stt_daemon.control.controller import Controller
from stt_daemon.events import Event, Final
from stt_daemon.output.publish import Publisher
from stt_daemon.settings import SAMPLE_RATE, Settings


class Collect:
    """Records events with the stream position (s) at which the worker published them."""

    name = "collect"

    def __init__(self) -> None:
        self.events: list[tuple[float, Event]] = []
        self._lock = threading.Lock()
        self.controller: Controller | None = None

    def publish(self, event: Event) -> None:
        worker = self.controller.worker if self.controller is not None else None
        position_s = worker.blocks_consumed * 0.02 if worker is not None else 0.0
        with self._lock:
            self.events.append((position_s, event))

    def finals(self) -> list[Final]:
        return [e for _, e in self.events if isinstance(e, Final)]

    def final_positions_s(self) -> list[float]:
        return [pos for pos, e in self.events if isinstance(e, Final) and e.text]


def run_source(transcriber: Transcriber, source: AudioSource, settings: Settings,
               clock: Callable[[], int] = time.monotonic_ns) -> tuple[Collect, Controller]:
    """Run ``source`` to its end through the pipeline; the source is started here."""
    sink = Collect()
    controller = Controller(source, transcriber, Publisher([sink]), settings, clock=clock,
                            latency_window_s=3600)
    sink.controller = controller
    source.start()
    controller.start()
    while controller.running():
        time.sleep(0.02)
    controller.stop()
    return sink, controller


def run_file(transcriber: Transcriber, path: Path, settings: Settings,
             realtime: bool = False) -> tuple[Collect, Controller]:
    return run_source(transcriber, WavSource.open(path, realtime=realtime), settings)


def concat(clips: list[Path], out: Path, gap_s: float = 1.5) -> Path:
    """Clips joined with ``gap_s`` of silence after each one (sox pads per clip, then joins)."""
    parts = []
    for i, clip in enumerate(clips):
        part = out.with_name(f"{out.stem}.{i}.wav")
        subprocess.run(["sox", str(clip), str(part), "pad", "0", str(gap_s)], check=True)
        parts.append(str(part))
    subprocess.run(["sox", *parts, str(out)], check=True)
    return out


class DelegatingSession:
    """A real session passed through; fault injectors override accept()."""

    def __init__(self, inner: StreamingSession) -> None:
        self._inner = inner

    @property
    def samples_fed(self) -> int:
        return self._inner.samples_fed

    def accept(self, pcm: bytes) -> bool:
        return self._inner.accept(pcm)

    def partial(self) -> Hypothesis:
        return self._inner.partial()

    def result(self) -> Hypothesis:
        return self._inner.result()

    def final(self) -> Hypothesis:
        return self._inner.final()

    def reset(self) -> None:
        self._inner.reset()


class WrappingTranscriber:
    """A real transcriber whose sessions come wrapped by ``wrap`` (a fault injector)."""

    def __init__(self, inner: Transcriber, wrap: Callable[[StreamingSession], StreamingSession],
                 name: str | None = None) -> None:
        self._inner = inner
        self._wrap = wrap
        self._name = name or inner.name
        self.made: list[StreamingSession] = []

    @property
    def name(self) -> str:
        return self._name

    def session(self) -> StreamingSession:
        session = self._wrap(self._inner.session())
        self.made.append(session)
        return session


class Stall:
    """Fault injector: every session made through ``wrap`` blocks in accept() while ``stalled``
    is set, until ``released``. A recognizer stuck inside Vosk cannot be produced on demand,
    so the stall is injected; it covers a recycled session as well as the first one."""

    def __init__(self) -> None:
        self.stalled = threading.Event()
        self.released = threading.Event()

    def wrap(self, inner: StreamingSession) -> StreamingSession:
        return _StallingSession(inner, self)


class _StallingSession(DelegatingSession):
    def __init__(self, inner: StreamingSession, stall: Stall) -> None:
        super().__init__(inner)
        self._stall = stall

    def accept(self, pcm: bytes) -> bool:
        if self._stall.stalled.is_set():
            self._stall.released.wait()
        return super().accept(pcm)


def samples_at(seconds: float) -> int:
    return int(seconds * SAMPLE_RATE)


__all__ = ["Block", "Collect", "DelegatingSession", "Stall", "WrappingTranscriber", "concat",
           "run_file", "run_source", "samples_at"]


def retracted_words(stable: str, final: str) -> int:
    """Words of the last stable prefix that the final changed (retractions, pipeline/stable.py),
    compared at their places."""
    said, kept = stable.split(), final.split()
    return sum(1 for i, word in enumerate(said) if i >= len(kept) or kept[i] != word)
