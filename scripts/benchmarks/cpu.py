"""CPU per second of audio, and what Vosk's decoding chunk and the warm-up cost.

Flat out, both sides read the same file through the same source; the daemon runs
its real sinks. The silence gate is a feature, so the daemon is measured as shipped
(gate on) and with the gate off, which decodes exactly the blocks the bare loop does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from devkit import bare
from scripts.benchmarks.common import percentiles, ratio
from scripts.benchmarks.harness import DaemonSide
from stt_daemon.asr.base import EngineOptions, Transcriber
from stt_daemon.asr.vosk_folder import tuned_folder
from stt_daemon.audio.wavfile import WavSource
from stt_daemon.settings import Settings


def _bare_rtf(model: Any, wav: Path, audio_s: float) -> float:
    rec = bare.recognizer(model)
    bare.warm(rec)
    source = WavSource.open(wav, realtime=False)
    source.start()
    return bare.run_source(rec, source).cpu_s / audio_s


def _daemon_rtf(transcriber: Transcriber, wav: Path, audio_s: float, settings: Settings) -> float:
    return DaemonSide(transcriber, WavSource.open(wav, realtime=False), settings).run().cpu_s / audio_s


def real_time_factor(transcriber: Transcriber, model: Any, wav: Path, repeats: int) -> dict[str, Any]:
    """CPU seconds per second of audio; the sides alternate ``repeats`` times and each reports
    its median, since one run against one run differs by several percent from noise alone."""
    audio_s = (wav.stat().st_size - 44) / 32000
    runs: dict[str, list[float]] = {"bare": [], "daemon": [], "daemon_ungated": []}
    for _ in range(repeats):
        runs["bare"].append(_bare_rtf(model, wav, audio_s))
        runs["daemon"].append(_daemon_rtf(transcriber, wav, audio_s, Settings()))
        runs["daemon_ungated"].append(_daemon_rtf(transcriber, wav, audio_s, Settings(silence_gate=False)))
    median = {name: float(np.median(values)) for name, values in runs.items()}
    return {"audio_s": round(audio_s, 1), "repeats": repeats,
            **{f"{name}_rtf": round(value, 4) for name, value in median.items()},
            "ratio": ratio(median["daemon"], median["bare"]),
            "ratio_ungated": ratio(median["daemon_ungated"], median["bare"]),
            "runs": {name: [round(v, 4) for v in values] for name, values in runs.items()}}


def decode_chunk(model_path: Path, wav: Path, intervals_ms: tuple[int, ...] = (240, 120, 60)) -> dict[str, Any]:
    """Bare Vosk at other --frames-per-chunk (--partial-interval-ms): CPU and per-call time."""
    audio_s = (wav.stat().st_size - 44) / 32000
    out: dict[str, Any] = {}
    base: float | None = None
    for interval_ms in intervals_ms:
        with tuned_folder(model_path, EngineOptions(partial_interval_ms=interval_ms)) as tuned:
            model = bare.load_model(tuned)
        rec = bare.recognizer(model)
        bare.warm(rec)
        source = WavSource.open(wav, realtime=False)
        source.start()
        run = bare.run_source(rec, source)
        rtf = run.cpu_s / audio_s
        base = base if base is not None else rtf
        out[f"{interval_ms}ms"] = {"rtf": round(rtf, 4), "cpu_ratio_to_240ms": ratio(rtf, base),
                                   "call_ms": percentiles(run.calls_ms)}
    return out


def first_heavy_call(model: Any, wav: Path) -> dict[str, Any]:
    """The slowest AcceptWaveform call in the first 2 s of speech, for a fresh recognizer and for
    one warmed with the daemon's clip (Vosk builds its decoding state lazily)."""
    out: dict[str, Any] = {}
    for label, warm in (("cold", False), ("warmed", True)):
        rec = bare.recognizer(model)
        if warm:
            bare.warm(rec)
        source = WavSource.open(wav, realtime=False)
        source.start()
        calls = bare.run_source(rec, source).calls_ms[:100]
        out[f"{label}_max_ms"] = round(max(calls), 1)
    return out
