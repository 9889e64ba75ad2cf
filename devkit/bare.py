"""The bare Vosk reference: the Vosk example's loop with no stt-daemon code in between.

Tests and benchmarks compare the daemon with this; it is the only place outside
stt_daemon/asr/vosk.py that imports vosk, on purpose. When it reads live audio it
reads it from the same kind of source as the daemon (stt_daemon.audio), so that
both sides stamp each block at the same point: the moment the source queued it.

    python -m devkit.bare ready MODEL CLIP   one JSON line: model load time; then decodes CLIP
"""

from __future__ import annotations

import json
import sys
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import vosk

from stt_daemon.audio.blocks import AudioSource, EndOfStream
from stt_daemon.pipeline.warmup import warmup_pcm


def load_model(path: Path) -> Any:
    vosk.SetLogLevel(-1)
    return vosk.Model(str(path))


def recognizer(model: Any, words: bool = False) -> Any:
    rec = vosk.KaldiRecognizer(model, 16000)
    if words:
        rec.SetWords(True)
    return rec


def warm(rec: Any) -> None:
    """The daemon's warm-up, done the bare way: the same bundled clip in 20 ms blocks."""
    pcm = warmup_pcm()
    for offset in range(0, len(pcm), 640):
        if not rec.AcceptWaveform(pcm[offset:offset + 640]):
            rec.PartialResult()
    rec.FinalResult()


def file_text(rec: Any, path: Path, frames: int = 4000) -> str:
    """The Vosk example loop: ``frames``-frame reads, results joined, FinalResult at the end
    (which also resets the recognizer for the next file)."""
    texts = []
    with wave.open(str(path)) as w:
        while data := w.readframes(frames):
            if rec.AcceptWaveform(data):
                texts.append(json.loads(rec.Result())["text"])
    texts.append(json.loads(rec.FinalResult())["text"])
    return " ".join(t for t in texts if t)


@dataclass
class LoopResult:
    latencies_ms: list[float] = field(default_factory=list)  # per block, capture to result
    calls_ms: list[float] = field(default_factory=list)  # per AcceptWaveform call
    finals: list[str] = field(default_factory=list)
    cpu_s: float = 0.0
    wall_s: float = 0.0


def run_source(rec: Any, source: AudioSource, until: Callable[[], bool] = lambda: False,
               clock: Callable[[], int] = time.monotonic_ns,
               on_result: Callable[[str, str, int], None] | None = None) -> LoopResult:
    """AcceptWaveform on each block, then Result() or PartialResult(), until the source ends
    or ``until()``; the source must be started already. ``on_result("partial" | "final", text,
    clock())`` sees every result the moment it is produced, as a program using it would."""
    out = LoopResult()
    cpu0, wall0 = time.process_time(), time.monotonic()
    while not until():
        try:
            block = source.read(0.05)
        except EndOfStream:
            break
        if block is None:
            continue
        start = clock()
        if rec.AcceptWaveform(block.pcm):
            text = json.loads(rec.Result())["text"]
            if text:
                out.finals.append(text)
            if on_result is not None:
                on_result("final", text, clock())
        elif on_result is None:
            rec.PartialResult()
        else:
            on_result("partial", json.loads(rec.PartialResult())["partial"], clock())
        done = clock()
        out.calls_ms.append((done - start) / 1e6)
        out.latencies_ms.append((done - block.captured_ns) / 1e6)
    text = json.loads(rec.FinalResult())["text"]
    if text:
        out.finals.append(text)
    if on_result is not None:
        on_result("final", text, clock())
    out.cpu_s, out.wall_s = time.process_time() - cpu0, time.monotonic() - wall0
    return out


def _ready(model_path: Path, clip: Path) -> None:
    """Load the model (timed), then decode the clip in 20 ms blocks: what a bare program does."""
    t0 = time.monotonic()
    model = load_model(model_path)
    rec = recognizer(model)
    print(json.dumps({"ready_s": time.monotonic() - t0}), flush=True)
    pcm = clip.read_bytes()[44:]
    for offset in range(0, len(pcm), 640):
        if not rec.AcceptWaveform(pcm[offset:offset + 640]):
            rec.PartialResult()


if __name__ == "__main__":
    if sys.argv[1:2] == ["ready"]:
        _ready(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        sys.exit(__doc__)
