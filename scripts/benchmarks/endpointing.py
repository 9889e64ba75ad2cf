"""End of speech to final, and speech onset to the first partial, daemon against bare Vosk.

Each clip gets 3 s of silence after it and is read flat out on both sides; an event's
time is the stream position of the block that produced it (when its last sample
would be spoken, live) plus the time its call took. Speech bounds come from energy.
A clip whose speech gets no final before the file ends is counted, never left out.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from devkit import bare
from scripts.benchmarks.common import padded, percentiles, ratio
from stt_daemon.asr.base import EngineOptions, Transcriber
from stt_daemon.asr.factory import load_transcriber
from stt_daemon.audio.wavfile import WavSource
from stt_daemon.control.controller import Controller
from stt_daemon.events import Event, Final
from stt_daemon.models.locate import ModelLocation
from stt_daemon.output.publish import Publisher
from stt_daemon.settings import Settings

PAD_S = 3.0


def speech_bounds_s(pcm: bytes) -> tuple[float, float]:
    """Onset and end of speech from 10 ms frame energy: above 1/30 of the clip's loudest frames."""
    x = np.frombuffer(pcm, "<i2").astype(np.float64)
    frames = x[: len(x) // 160 * 160].reshape(-1, 160)
    energy = np.sqrt((frames ** 2).mean(axis=1))
    voiced = np.nonzero(energy > np.percentile(energy, 95) / 30)[0]
    return float(voiced[0] * 0.01), float((voiced[-1] + 1) * 0.01)


class _Timing:
    name = "timing"

    def __init__(self, limit_s: float) -> None:
        self.controller: Controller | None = None
        self.first_partial_s: float | None = None
        self.final_s: float | None = None
        self.limit_s = limit_s  # finals after this stream position are forced by the file's end

    def publish(self, event: Event) -> None:
        worker = self.controller.worker if self.controller is not None else None
        if worker is None:
            return
        when_s = worker.blocks_consumed * 0.02 + (time.monotonic_ns() - worker.last_dequeued_ns) / 1e9
        if isinstance(event, Final):
            if event.text and worker.blocks_consumed * 0.02 < self.limit_s:
                self.final_s = when_s  # the last one closes the speech
        elif self.first_partial_s is None:
            self.first_partial_s = when_s


def _daemon(transcriber: Transcriber, clip: Path, settings: Settings, end_s: float) -> _Timing:
    timing = _Timing(end_s + PAD_S - 0.1)
    source = WavSource.open(clip, realtime=False)
    controller = Controller(source, transcriber, Publisher([timing]), settings)
    timing.controller = controller
    source.start()
    controller.start()
    controller.worker.join()
    controller.stop()
    return timing


def _bare(rec: Any, clip: Path) -> tuple[float | None, float | None]:
    """(first partial, last final) in stream time, 20 ms blocks, no FinalResult at the end."""
    pcm = clip.read_bytes()[44:]
    first_partial = final = None
    for offset in range(0, len(pcm), 640):
        start = time.monotonic()
        when = (offset + 640) / 32000
        if rec.AcceptWaveform(pcm[offset:offset + 640]):
            if json.loads(rec.Result())["text"]:
                final = when + time.monotonic() - start
        elif first_partial is None and json.loads(rec.PartialResult())["partial"]:
            first_partial = when + time.monotonic() - start
    rec.FinalResult()
    return first_partial, final


def run(location: ModelLocation, clips: list[Path], folder: Path,
        silences_ms: tuple[int | None, ...] = (None, 200)) -> dict[str, Any]:
    """``silences_ms``: the --endpoint-silence-ms values to run (None: the default)."""
    out: dict[str, Any] = {"clips": len(clips)}
    padded_clips = [padded(clip, PAD_S, folder) for clip in clips]
    for silence_ms in silences_ms:
        label = "default" if silence_ms is None else f"endpoint_silence_{silence_ms}ms"
        settings = Settings(endpoint_silence_ms=silence_ms)  # otherwise the defaults, as shipped
        transcriber = load_transcriber(location.path, location.name, EngineOptions.from_settings(settings))
        bare_model = bare.load_model(location.path) if silence_ms is None else None
        ours: dict[str, list[float]] = {"final": [], "partial": []}
        theirs: dict[str, list[float]] = {"final": [], "partial": []}
        missed = {"daemon": 0, "bare": 0}
        for clip in padded_clips:
            onset_s, end_s = speech_bounds_s(clip.read_bytes()[44:])
            timing = _daemon(transcriber, clip, settings, end_s)
            if timing.final_s is None:
                missed["daemon"] += 1
            else:
                ours["final"].append((timing.final_s - end_s) * 1000)
            if timing.first_partial_s is not None:
                ours["partial"].append((timing.first_partial_s - onset_s) * 1000)
            if bare_model is not None:
                rec = bare.recognizer(bare_model)
                bare.warm(rec)
                first, final = _bare(rec, clip)
                if final is None:
                    missed["bare"] += 1
                else:
                    theirs["final"].append((final - end_s) * 1000)
                if first is not None:
                    theirs["partial"].append((first - onset_s) * 1000)
        entry: dict[str, Any] = {"daemon": {"end_of_speech_to_final_ms": percentiles(ours["final"]),
                                            "onset_to_first_partial_ms": percentiles(ours["partial"]),
                                            "no_final_before_file_end": missed["daemon"]}}
        if bare_model is not None:
            entry["bare"] = {"end_of_speech_to_final_ms": percentiles(theirs["final"]),
                             "onset_to_first_partial_ms": percentiles(theirs["partial"]),
                             "no_final_before_file_end": missed["bare"]}
            entry["ratio_final_p50"] = ratio(entry["daemon"]["end_of_speech_to_final_ms"].get("p50", 0),
                                             entry["bare"]["end_of_speech_to_final_ms"].get("p50", 0))
        out[label] = entry
    return out
