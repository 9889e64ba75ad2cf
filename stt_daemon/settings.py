"""Frozen settings passed down from the CLI; nothing below it parses arguments."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: Every block handed to the recognizer is 16 kHz mono signed 16-bit PCM.
SAMPLE_RATE = 16000
BYTES_PER_SAMPLE = 2


@dataclass(frozen=True)
class AudioSettings:
    """Where audio comes from and how it is cut into blocks."""

    device: str | None = None  # index or case-insensitive name substring; None: default
    input_file: Path | None = None  # a WAV file instead of the microphone
    block_ms: int = 20
    realtime: bool = True  # pace a file like a microphone
    queue_ms: int = 2000  # bounded queue; beyond this, blocks are dropped and counted

    @property
    def block_frames(self) -> int:
        return SAMPLE_RATE * self.block_ms // 1000

    @property
    def queue_blocks(self) -> int:
        return max(1, self.queue_ms // self.block_ms)


@dataclass(frozen=True)
class OutputSettings:
    """How the stdout publisher renders events."""

    json: bool = False
    partials: bool = False  # print partials at all
    redraw: bool = False  # a terminal: redraw the partial in place on one line


@dataclass(frozen=True)
class EngineSettings:
    """The live engine's real-time behaviour."""

    latency_budget_ms: float = 50.0
    latency_window_s: float = 30.0  # rolling window of the latency figures
    warm_up: bool = True  # decode a bundled clip before reporting ready
    recycle_after_s: float = 4 * 3600.0  # audio one recognizer may decode before replacement
    recycle_growth_mb: float = 200.0  # RSS growth that triggers a replacement (recycle.py says why)
    stats_interval_s: float | None = None  # --stats: a summary line on stderr this often
    endpoint_silence_ms: int | None = None  # end an utterance after this much trailing silence
    gate_silence: bool = True  # keep long silence away from Vosk (idle CPU)
