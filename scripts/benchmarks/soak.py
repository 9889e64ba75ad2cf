"""Soak: hours of looped ko-dev speech through the file source, flat out.

Reports RSS growth after warm-up, finals against utterances, and file
descriptors and threads before and after. Warm-up is the first 10 minutes of
audio: Vosk's feature pipeline keeps every frame until 20000 of them (10 min)
and then starts afresh, so RSS climbs for that long by design. `scripts/soak --minutes 60` is the
long run; the test suite runs a short one through the same code.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from scripts.benchmarks.common import KO_DEV
from stt_daemon.asr.base import EngineOptions, Transcriber
from stt_daemon.asr.factory import load_transcriber
from stt_daemon.audio.wavfile import WavSource
from stt_daemon.control.controller import Controller
from stt_daemon.events import Event, Final
from stt_daemon.models.locate import find_models
from stt_daemon.output.publish import Publisher
from stt_daemon.pipeline.recycle import rss_mb
from stt_daemon.settings import Settings

# Short single sentences that Vosk closes with exactly one final each (checked one by one:
# kih00066, 00077 and 00088 hold a pause that Vosk sometimes splits, so they are left out).
CLIPS = ["etts_kih00012.wav", "etts_kih00023.wav", "etts_kih00033.wav", "etts_kih00001.wav",
         "etts_kih00055.wav", "etts_kih00098.wav"]
GAP_S = 1.5
WARMUP_MINUTES = 10.5


class _Count:
    name = "count"

    def __init__(self) -> None:
        self.finals = 0

    def publish(self, event: Event) -> None:
        if isinstance(event, Final) and event.text:
            self.finals += 1


def _looped_audio(folder: Path, minutes: float) -> tuple[Path, int]:
    parts = []
    for i, clip in enumerate(CLIPS):
        parts.append(str(folder / f"c{i}.wav"))
        subprocess.run(["sox", str(KO_DEV / clip), parts[-1], "pad", "0", str(GAP_S)], check=True)
    unit = folder / "unit.wav"
    subprocess.run(["sox", *parts, str(unit)], check=True)
    unit_s = (unit.stat().st_size - 44) / 32000
    repeats = max(1, round(minutes * 60 / unit_s))
    looped = folder / "looped.wav"
    subprocess.run(["sox", str(unit), str(looped), "repeat", str(repeats - 1)], check=True)
    return looped, repeats


def _run(model: Transcriber, audio: Path, settings: Settings, count: _Count) -> Controller:
    source = WavSource.open(audio, realtime=False)
    controller = Controller(source, model, Publisher([count]), settings)
    source.start()
    controller.start()
    return controller


def _finals_in(model: Transcriber, audio: Path) -> int:
    count = _Count()
    controller = _run(model, audio, Settings(warmup=False), count)
    while controller.running():
        time.sleep(0.05)
    controller.stop()
    return count.finals


def run(minutes: float, model: Transcriber | None = None) -> dict[str, Any]:
    if model is None:
        location = find_models()[0]
        model = load_transcriber(location.path, location.name, EngineOptions())
    with tempfile.TemporaryDirectory() as folder:
        audio, repeats = _looped_audio(Path(folder), minutes)
        utterances = repeats * _finals_in(model, Path(folder) / "unit.wav")  # some clips hold a pause
        fds_before, threads_before = len(os.listdir("/proc/self/fd")), threading.active_count()
        count = _Count()
        samples: list[tuple[float, float]] = []
        t0 = time.monotonic()
        controller = _run(model, audio, Settings(), count)
        while controller.running():
            samples.append((time.monotonic() - t0, rss_mb()))
            time.sleep(0.5)
        controller.stop()
        wall_s = time.monotonic() - t0
        fds_after, threads_after = len(os.listdir("/proc/self/fd")), threading.active_count()
    warm_until = wall_s * min(0.9, WARMUP_MINUTES / minutes)
    warm = [rss for when, rss in samples if warm_until <= when <= warm_until + wall_s * 0.05] or [samples[0][1]]
    end = [rss for when, rss in samples if when >= wall_s * 0.9] or [samples[-1][1]]
    baseline, final = sorted(warm)[len(warm) // 2], max(end)
    return {"audio_minutes": round(minutes, 1), "wall_s": round(wall_s, 1), "utterances": utterances,
            "finals": count.finals, "recycled": controller.worker.recycling.recycled, "rss_after_warmup_mb": round(baseline, 1), "rss_end_mb": round(final, 1),
            "rss_growth_percent": round(100 * (final - baseline) / baseline, 2),
            "fds": [fds_before, fds_after], "threads": [threads_before, threads_after]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=60.0, help="audio to stream (default 60)")
    args = parser.parse_args()
    json.dump(run(args.minutes), sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
