"""CPU per second of audio, and what Vosk's decoding chunk and the warm-up cost.

Flat out, both sides read the same file through the same source; the daemon runs
its real sinks. Every run is a process of its own (``python -m scripts.benchmarks.cpu SIDE
WAV``): in one process each daemon run cost more than the one before (pydbus keeps every
published object, and the heap grows), which overstated the daemon by up to 20 %.

Sides: the bare loop at Vosk's defaults; the daemon as shipped; the daemon with the
silence gate off (it decodes exactly the blocks the bare loop does); with the energy
detector in place of Silero, and at Vosk's own chunk and rules: what each costs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from devkit import bare
from scripts.benchmarks.common import ROOT, percentiles, ratio
from stt_daemon.asr.base import EngineOptions
from stt_daemon.asr.vosk_folder import tuned_folder
from stt_daemon.audio.wavfile import WavSource

#: Daemon sides: the settings each runs with (the shipped defaults apart from these).
SIDES: dict[str, dict[str, Any]] = {
    "daemon": {},
    "daemon_ungated": {"silence_gate": False},
    "daemon_energy_detector": {"vad": "energy"},
    "daemon_vosk_chunk_and_rules": {"partial_interval_ms": None, "tuned_endpoints": False},
}


def _one_run(side: str, wav: Path) -> float:
    """CPU seconds per second of audio for one side, in this process."""
    from stt_daemon.asr.factory import load_transcriber
    from stt_daemon.models.locate import find_models
    from stt_daemon.settings import Settings

    audio_s = (wav.stat().st_size - 44) / 32000
    location = find_models()[0]
    source = WavSource.open(wav, realtime=False)
    if side == "bare":
        rec = bare.recognizer(bare.load_model(location.path))
        bare.warm(rec)
        source.start()
        return bare.run_source(rec, source).cpu_s / audio_s
    from scripts.benchmarks.harness import DaemonSide

    settings = Settings(**SIDES[side])
    transcriber = load_transcriber(location.path, location.name, EngineOptions.from_settings(settings))
    return DaemonSide(transcriber, source, settings).run().cpu_s / audio_s


def _run_apart(side: str, wav: Path) -> float:
    out = subprocess.run([sys.executable, "-m", "scripts.benchmarks.cpu", side, str(wav)], cwd=ROOT,
                         capture_output=True, text=True, timeout=600, env=os.environ.copy(), check=False)
    if out.returncode != 0:
        raise RuntimeError(f"cpu run {side} failed: {out.stderr.strip()[-500:]}")
    return float(json.loads(out.stdout.strip().splitlines()[-1])["rtf"])


def real_time_factor(wav: Path, repeats: int, sides: tuple[str, ...] = tuple(SIDES)) -> dict[str, Any]:
    """CPU seconds per second of audio; the sides alternate ``repeats`` times and each reports
    its median, since one run against one run differs by several percent from noise alone."""
    audio_s = (wav.stat().st_size - 44) / 32000
    runs: dict[str, list[float]] = {name: [] for name in ("bare", *sides)}
    for _ in range(repeats):
        for name in runs:
            runs[name].append(_run_apart(name, wav))
    median = {name: float(np.median(values)) for name, values in runs.items()}
    return {"audio_s": round(audio_s, 1), "repeats": repeats,
            **{f"{name}_rtf": round(value, 4) for name, value in median.items()},
            "ratio": ratio(median["daemon"], median["bare"]),
            **{f"ratio_{name.removeprefix('daemon_')}": ratio(median[name], median["bare"])
               for name in sides if name != "daemon"},
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


if __name__ == "__main__":
    print(json.dumps({"rtf": _one_run(sys.argv[1], Path(sys.argv[2]))}))
