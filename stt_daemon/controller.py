"""One place for control: start, stop, finalize, reset; later pause/resume and reload.

The CLI's signal handlers and the D-Bus methods both end up here. The
controller owns the audio source and the engine; the recognizer and the
loaded model outlive sources, so the model stays warm across pause/resume.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from stt_daemon.audio import AudioSource
from stt_daemon.engine import Command, Engine
from stt_daemon.latency import LatencyMonitor
from stt_daemon.mic import MicSource
from stt_daemon.publish import Publisher
from stt_daemon.recognizer import Recognizer
from stt_daemon.settings import AudioSettings
from stt_daemon.vosk_backend import VoskBackend
from stt_daemon.wavfile import WavSource

_LOGGER = logging.getLogger(__name__)

STATES = ("starting", "listening", "paused", "waiting-for-device", "stopping")


def open_source(settings: AudioSettings) -> AudioSource:
    """A WAV file when one is given, else the microphone. Raises SttError subclasses."""
    if settings.input_file is not None:
        return WavSource.open(settings.input_file, settings)
    return MicSource(settings)


class Controller:
    """Owns the running pipeline for `listen` and `serve`."""

    def __init__(self, model: Any, source: AudioSource, publisher: Publisher,
                 monitor: LatencyMonitor | None = None) -> None:
        self._source = source
        self._publisher = publisher
        self._monitor = monitor if monitor is not None else LatencyMonitor()
        self._recognizer = Recognizer(VoskBackend(model))
        self._engine: Engine | None = None
        self._lock = threading.Lock()
        self._state = "starting"
        self.state_listeners: list[Callable[[str], None]] = []

    @property
    def state(self) -> str:
        return self._state

    def _set_state(self, state: str) -> None:
        if state == self._state:
            return
        self._state = state
        _LOGGER.debug("state: %s", state)
        for listener in self.state_listeners:
            listener(state)

    @property
    def source(self) -> AudioSource:
        return self._source

    def start(self) -> None:
        """Open the source and start decoding; raises if the source cannot open."""
        source = self._source
        source.start()
        with self._lock:
            self._engine = Engine(source, self._recognizer, self._publisher, self._monitor)
            self._engine.start()
        _LOGGER.info("listening to %s", source.description)
        self._set_state("listening")

    def finalize(self) -> None:
        if self._engine is not None:
            self._engine.request(Command.FINALIZE)

    def reset(self) -> None:
        if self._engine is not None:
            self._engine.request(Command.RESET)

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

    def wait(self, stop: threading.Event) -> None:
        """Block until asked to stop or the source runs out."""
        while not stop.wait(0.1):
            if not self.running():
                return
