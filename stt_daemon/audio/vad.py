"""Energy-based voice activity: keep long silence away from Vosk, and end utterances on time.

Vosk runs its acoustic model on every frame, silent or not, which costs about
10 % of a core while nobody speaks. The gate holds back silence once it has
lasted ``close_after_ms`` with no utterance open, keeping a short pre-roll so
that a new utterance starts whole. Skipped audio is reported, so stream times
stay exact.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence

import numpy as np

from stt_daemon.audio.blocks import Block


class VoiceActivity:
    """Speech or not, per block, against a noise floor that falls at once and rises slowly."""

    def __init__(self, block_ms: int = 20, margin_db: float = 12.0, min_floor_rms: float = 8.0,
                 rise_db_per_s: float = 1.0) -> None:
        self._block_ms = block_ms
        self._margin = 10 ** (margin_db / 20)
        self._min_floor = min_floor_rms
        self._rise = 10 ** (rise_db_per_s / 20 * block_ms / 1000)
        self.floor_rms: float | None = None
        self.trailing_silence_ms = 0
        self.heard_speech = False

    def update(self, pcm: bytes) -> bool:
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
        rms = float(np.sqrt(np.dot(samples, samples) / samples.size)) if samples.size else 0.0
        if self.floor_rms is None or rms < self.floor_rms:
            # Never below the minimum: a floor of 0 (one block of digital silence) would
            # never rise again, and every later sound would be speech.
            self.floor_rms = max(rms, self._min_floor)
        else:
            self.floor_rms *= self._rise
        speech = rms > self.floor_rms * self._margin
        if speech:
            self.trailing_silence_ms = 0
            self.heard_speech = True
        else:
            self.trailing_silence_ms += self._block_ms
        return speech

    def skip(self, pcm: bytes) -> None:
        """Cheap enough to hear every block anyway."""
        self.update(pcm)

    def speech_within(self, ms: int) -> bool:
        return self.trailing_silence_ms < ms


class SilenceGate:
    """Decides which blocks reach the recognizer."""

    def __init__(self, block_ms: int = 20, close_after_ms: int = 1000, preroll_ms: int = 500) -> None:
        self._close_after_ms = close_after_ms
        self._preroll: collections.deque[Block] = collections.deque(maxlen=max(1, preroll_ms // block_ms))
        self.open = True
        self.gated_blocks = 0

    def offer(self, blocks: Sequence[Block], speech: bool, utterance_open: bool,
              trailing_silence_ms: int) -> tuple[list[Block], int]:
        """Returns the blocks to decode now and the bytes of audio skipped for good.
        ``trailing_silence_ms`` is the detector's: after blocks it skipped, it counts again
        from where the silence began, so the gate closes as soon as if it had heard them."""
        if self.open:
            if trailing_silence_ms >= self._close_after_ms and not utterance_open:
                self.open = False
            return list(blocks), 0
        if speech:
            self.open = True
            released = [*self._preroll, *blocks]
            self._preroll.clear()
            return released, 0
        skipped = 0
        for block in blocks:
            if len(self._preroll) == self._preroll.maxlen:
                skipped += len(self._preroll[0].pcm)
            self._preroll.append(block)
            self.gated_blocks += 1
        return [], skipped
