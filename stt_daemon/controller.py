"""One place for control: start, stop, pause, resume, finalize, reset, stats.

The CLI's signal handlers and the D-Bus methods both end up here. The
controller owns the audio source and the engine; the recognizer and the
loaded model outlive pauses, so the model stays warm.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from stt_daemon.audio import AudioSource
from stt_daemon.engine import Command, Engine
from stt_daemon.errors import SttError
from stt_daemon.latency import LatencyMonitor
from stt_daemon.mic import MicSource
from stt_daemon.overload import OverloadLadder
from stt_daemon.publish import Publisher
from stt_daemon.recognizer import Backend, Recognizer
from stt_daemon.recycle import RecyclePolicy, Recycler
from stt_daemon.settings import AudioSettings, EngineSettings
from stt_daemon.vad import SilenceGate
from stt_daemon.vosk_backend import VoskBackend
from stt_daemon.warmup import warm_up
from stt_daemon.wavfile import WavSource

_LOGGER = logging.getLogger(__name__)

STATES = ("starting", "listening", "paused", "waiting-for-device", "stopping")


class NotRunning(SttError):
    """A control request that needs a running pipeline."""


def open_source(settings: AudioSettings, wait_for_device: bool = False) -> AudioSource:
    """A WAV file when one is given, else the microphone. Raises SttError subclasses."""
    if settings.input_file is not None:
        return WavSource.open(settings.input_file, settings)
    return MicSource(settings, wait_for_device=wait_for_device)


class Controller:
    """Owns the running pipeline for `listen` and `serve`."""

    def __init__(self, model: Any, source: AudioSource, publisher: Publisher,
                 settings: EngineSettings = EngineSettings(), model_name: str = "",
                 make_backend: Callable[[], Backend] | None = None) -> None:
        self._source = source
        self._publisher = publisher
        self._settings = settings
        self.monitor = LatencyMonitor(settings.latency_budget_ms, settings.latency_window_s, source.block_ms)
        self.ladder = OverloadLadder(settings.latency_budget_ms)
        new_backend = make_backend if make_backend is not None else lambda: VoskBackend(model)
        backend = new_backend()
        if settings.warm_up:
            _LOGGER.info("recognizer warmed up in %.1f s", warm_up(backend))
        self._recognizer = Recognizer(backend)
        self.recycler = Recycler(new_backend, RecyclePolicy(settings.recycle_growth_mb,
                                                            settings.recycle_after_s))
        self._gate = SilenceGate(source.block_ms) if settings.gate_silence else None
        self._engine: Engine | None = None
        self._lock = threading.RLock()
        self._state = "starting"
        self._started_s = time.monotonic()
        self.model_name = model_name
        self.state_listeners: list[Callable[[str], None]] = []
        self.property_listeners: list[Callable[[str, str], None]] = []  # (name, value): Device, Model

    @property
    def state(self) -> str:
        return self._state

    @property
    def device(self) -> str:
        return self._source.description

    @property
    def source(self) -> AudioSource:
        return self._source

    @property
    def engine(self) -> Engine | None:
        return self._engine

    def _changed(self, name: str, value: str) -> None:
        for listener in self.property_listeners:
            try:
                listener(name, value)
            except Exception:
                _LOGGER.exception("a property listener failed")

    def _set_state(self, state: str) -> None:
        if state == self._state:
            return
        self._state = state
        _LOGGER.debug("state: %s", state)
        for listener in self.state_listeners:
            try:
                listener(state)
            except Exception:
                _LOGGER.exception("a state listener failed")

    def start(self, when_open: Callable[[], None] = lambda: None) -> None:
        """Open the source, call ``when_open`` (own the bus name: ready), then start decoding.

        Signals sent before the bus name is owned would go out under the unique name only,
        unseen by subscribers that match the well-known name; hence this order.
        """
        with self._lock:
            self._source.start()
            try:
                when_open()
            except BaseException:
                self._source.stop()
                raise
            self._start_engine()
        _LOGGER.info("listening to %s", self._source.description)
        self._set_state("listening")

    def _start_engine(self) -> None:
        self._engine = Engine(self._source, self._recognizer, self._publisher, self.monitor,
                              self.ladder, self.recycler, self._gate, self._settings.endpoint_silence_ms)
        self._engine.start()

    def _running_engine(self) -> Engine:
        engine = self._engine
        if engine is None or not engine.is_alive():
            raise NotRunning("the daemon is not running a pipeline")
        return engine

    def start_waiting(self) -> None:
        """Start decoding with no device yet (serve at boot); the supervisor opens it later."""
        with self._lock:
            self._start_engine()
        self._set_state("waiting-for-device")

    def device_lost(self) -> None:
        """The utterance in progress becomes a final; the dead stream is closed."""
        with self._lock:
            if self._engine is not None:
                self._engine.request(Command.FINALIZE)
            self._source.pause()
            self._set_state("waiting-for-device")

    def device_back(self) -> None:
        with self._lock:
            if self._state == "waiting-for-device":
                self._set_state("listening")
        self._changed("Device", self._source.description)

    def switch_source(self, source: AudioSource) -> None:
        """Move to another device without a gap: open it, then let the worker hand over."""
        with self._lock:
            engine = self._running_engine()
            source.start()
            self._source = source
            engine.request(Command.SWITCH_SOURCE, source)
            if self._state == "paused":
                source.pause()
        self._changed("Device", source.description)

    def replace_model(self, make_backend: Callable[[], Backend], model_name: str) -> None:
        """Serve from a newly loaded model: built and warmed aside, swapped between utterances."""
        self.model_name = model_name
        self.recycler.replace(make_backend)
        self._changed("Model", model_name)

    def set_latency_budget_ms(self, ms: float) -> None:
        self.monitor.set_budget_ms(ms)
        self.ladder.set_budget_ms(ms)

    def set_endpoint_silence_ms(self, ms: int | None) -> None:
        if self._engine is not None:
            self._engine.set_endpoint_silence_ms(ms)

    def finalize(self) -> None:
        self._running_engine().request(Command.FINALIZE)

    def reset(self) -> None:
        self._running_engine().request(Command.RESET)

    def pause(self) -> None:
        """End the utterance in progress, then close the audio stream; the model stays loaded."""
        with self._lock:
            engine = self._running_engine()
            if self._state == "paused":
                return
            self._source.pause()
            engine.request(Command.FINALIZE)
            self._set_state("paused")

    def resume(self) -> None:
        with self._lock:
            self._running_engine()
            if self._state != "paused":
                return
            self._source.resume()
            self._set_state("listening")

    def stats(self) -> dict[str, float | int]:
        source = self._source.stats()
        latency = self.monitor.summary()
        return {
            "blocks": source.blocks, "drops": source.drops, "overflows": source.overflows,
            "queue_depth": source.queue_depth, "utterances": self._recognizer.utterances,
            "uptime_s": round(time.monotonic() - self._started_s, 3),
            "latency_p50_ms": latency.p50_ms, "latency_p95_ms": latency.p95_ms,
            "latency_p99_ms": latency.p99_ms, "latency_max_ms": latency.max_ms,
            "latency_budget_ms": self.monitor.budget_ms, "over_budget": latency.over_budget,
            "over_budget_window": latency.over_budget_window, "overload_level": int(self.ladder.level),
            "overload_escalations": self.ladder.escalations, "recycled": self.recycler.recycled,
            "gated_blocks": self._gate.gated_blocks if self._gate is not None else 0,
        }

    def healthy(self, stall_s: float = 2.0) -> bool:
        """The worker is alive and went round its loop lately (it wakes at least every 50 ms)."""
        engine = self._engine
        if engine is None or not engine.is_alive():
            return False
        return time.monotonic_ns() - engine.progress_ns < stall_s * 1e9

    def running(self) -> bool:
        """False once a file source has ended or the worker died."""
        return self._engine is not None and self._engine.is_alive()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Close the source, decode what is queued, flush the last utterance as a final."""
        self._set_state("stopping")
        with self._lock:
            engine, self._engine = self._engine, None
        if engine is not None:
            engine.stop(timeout_s)
        else:
            self._source.stop()
