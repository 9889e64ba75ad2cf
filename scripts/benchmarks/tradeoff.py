"""The trade-off behind the endpointing and decode-chunk defaults, on held-out speech.

The defaults were chosen on the even-numbered ko-dev clips (sorted by name); this runs on
the odd-numbered ones, which the choice never saw. For each configuration, and for a bare
Vosk loop at Vosk's defaults (20 ms blocks), both read flat out:
- end of speech -> final: each clip followed by 3 s of silence (endpointing.py's timing);
- sentences cut at an inner pause: the clips joined into one stream with pauses drawn from
  300-700 ms, as between dictated sentences. A final that ends inside a clip's speech (more
  than 150 ms from its edges) cut that sentence. Joins with no final between are merges,
  which lose nothing;
- CER of everything heard on the joined stream against the references (raw text);
- CPU per second of audio on the joined stream, as a ratio to the bare loop's.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from devkit import bare
from devkit.textmetrics import corpus_cer
from scripts.benchmarks.common import padded, percentiles, ratio
from scripts.benchmarks.endpointing import PAD_S, _daemon, speech_bounds_s
from stt_daemon.asr.base import EngineOptions, Transcriber
from stt_daemon.asr.factory import load_transcriber
from stt_daemon.audio.wavfile import WavSource
from stt_daemon.control.controller import Controller
from stt_daemon.events import Event, Final
from stt_daemon.models.locate import ModelLocation
from stt_daemon.output.publish import Publisher
from stt_daemon.pipeline.warmup import warmup_pcm
from stt_daemon.settings import Settings

EDGE_S = 0.15
#: The ko-dev clips that hold more than one sentence (read from transcripts.tsv by a person):
#: a final boundary between two of its sentences is right, not a cut.
SENTENCES = {"etts_kih00001.wav": 2, "etts_kih00012.wav": 2, "etts_kih00044.wav": 2, "etts_kih00055.wav": 2,
             "etts_kih00066.wav": 2, "etts_kih00077.wav": 2, "etts_kih00088.wav": 2, "etts_kih00120.wav": 2,
             "etts_pfa00006.wav": 2, "etts_pmc00020.wav": 2, "etts_pmj00016.wav": 2, "etts_pmj00023.wav": 2,
             "etts_pml00008.wav": 2}
CONFIGS: dict[str, dict[str, Any]] = {
    "vosk_defaults": {"partial_interval_ms": None, "tuned_endpoints": False, "fresh_utterances": False},
    "chunk_120ms": {"partial_interval_ms": 120, "tuned_endpoints": False, "fresh_utterances": False},
    "chunk_120ms_tuned_rules": {"partial_interval_ms": 120, "tuned_endpoints": True, "fresh_utterances": False},
    "fresh_utterances": {"partial_interval_ms": 120, "tuned_endpoints": True, "fresh_utterances": True},
    "sentence_rule_200ms": {"partial_interval_ms": 120, "tuned_endpoints": True, "sentence_end_silence_ms": 200},
    "endpoint_silence_300ms": {"endpoint_silence_ms": 300, "sentence_end_silence_ms": 0},
    "endpoint_silence_450ms": {"endpoint_silence_ms": 450, "sentence_end_silence_ms": 0},
    "endpoint_silence_600ms": {"endpoint_silence_ms": 600, "sentence_end_silence_ms": 0},
}


def half(clips: list[Path], parity: int) -> list[Path]:
    """Parity 1: the held-out clips; 0: those the defaults were chosen on."""
    return [clip for i, clip in enumerate(sorted(clips)) if i % 2 == parity]


def joined(clips: list[Path], folder: Path, seed: int = 11) -> tuple[Path, list[tuple[float, float]]]:
    """The clips in one WAV with 300-700 ms pauses between; each clip's speech span in it."""
    rng = random.Random(seed)
    parts, spans, at = [], [], 0.0
    for i, clip in enumerate(clips):
        pause = rng.uniform(0.3, 0.7) if i < len(clips) - 1 else PAD_S
        part = folder / f"{clip.stem}.join{i}.wav"
        subprocess.run(["sox", str(clip), str(part), "pad", "0", f"{pause:.3f}"], check=True)
        onset, end = speech_bounds_s(clip.read_bytes()[44:])
        spans.append((at + onset, at + end))
        at += (part.stat().st_size - 44) / 32000
        parts.append(str(part))
    out = folder / "joined.wav"
    subprocess.run(["sox", *parts, str(out)], check=True)
    return out, spans


def _cuts(bounds: list[tuple[float, float]], spans: list[tuple[float, float]],
          sentences: list[int]) -> dict[str, int]:
    """``bounds``: each final's (first word start, last word end) in stream seconds. A clip
    split into more finals than it has sentences was cut at an inner pause."""
    def inside(t: float) -> int | None:
        return next((i for i, (a, b) in enumerate(spans) if a + EDGE_S < t < b - EDGE_S), None)

    splits = [0] * len(spans)
    for (_, end), (start, _) in zip(bounds, bounds[1:]):
        clip = inside(end)
        if clip is not None and clip == inside(start):
            splits[clip] += 1
    ends = [end for _, end in bounds]
    merged = sum(1 for (_, b), (a, _) in zip(spans, spans[1:]) if not any(b - 0.5 <= t <= a + EDGE_S for t in ends))
    return {"finals": len(bounds), "sentences_cut": sum(max(0, n - (k - 1)) for n, k in zip(splits, sentences)),
            "splits_inside_clips": sum(splits), "joins_merged": merged}


class _Finals:
    name = "finals"

    def __init__(self) -> None:
        self.finals: list[Final] = []

    def publish(self, event: Event) -> None:
        if isinstance(event, Final) and event.raw:
            self.finals.append(event)


def run_flat(transcriber: Transcriber, wav: Path, settings: Settings, sink: Any) -> float:
    """The file read flat out through the daemon into ``sink`` (given the controller as
    ``sink.controller`` when it has that attribute); returns the CPU seconds it took."""
    source = WavSource.open(wav, realtime=False)
    controller = Controller(source, transcriber, Publisher([sink]), settings)
    if hasattr(sink, "controller"):
        sink.controller = controller
    source.start()
    cpu = time.process_time()
    controller.start()
    controller.worker.join()
    controller.stop()
    return time.process_time() - cpu


def _daemon_joined(transcriber: Transcriber, wav: Path, settings: Settings) -> tuple[list[Final], float]:
    sink = _Finals()
    cpu = run_flat(transcriber, wav, settings, sink)
    return sink.finals, cpu


def _bare_joined(model: Any, wav: Path) -> tuple[list[str], list[tuple[float, float]], float]:
    """Texts and final end times (stream s), 20 ms blocks; the warm-up's length is taken off
    Vosk's word times, which count every sample the recognizer was fed."""
    rec = bare.recognizer(model, words=True)
    bare.warm(rec)
    offset_s = len(warmup_pcm()) / 32000
    pcm = wav.read_bytes()[44:]
    texts, bounds = [], []
    cpu = time.process_time()
    results = []
    for at in range(0, len(pcm), 640):
        if rec.AcceptWaveform(pcm[at:at + 640]):
            results.append(rec.Result())
        else:
            rec.PartialResult()
    results.append(rec.FinalResult())
    cpu = time.process_time() - cpu
    for text in results:
        result = json.loads(text)
        if result.get("text"):
            texts.append(result["text"])
            bounds.append((result["result"][0]["start"] - offset_s, result["result"][-1]["end"] - offset_s))
    return texts, bounds, cpu


def _eos(transcriber: Transcriber, clips: list[Path], settings: Settings) -> dict[str, Any]:
    values, missed = [], 0
    for clip in clips:
        _, end_s = speech_bounds_s(clip.read_bytes()[44:])
        timing = _daemon(transcriber, clip, settings, end_s)
        if timing.final_s is None:
            missed += 1
        else:
            values.append((timing.final_s - end_s) * 1000)
    return {"end_of_speech_to_final_ms": percentiles(values), "no_final_before_file_end": missed}


def _bare_eos(model: Any, clips: list[Path]) -> dict[str, Any]:
    from scripts.benchmarks.endpointing import _bare

    values, missed = [], 0
    for clip in clips:
        _, end_s = speech_bounds_s(clip.read_bytes()[44:])
        rec = bare.recognizer(model)
        bare.warm(rec)
        _, final = _bare(rec, clip)
        if final is None:
            missed += 1
        else:
            values.append((final - end_s) * 1000)
    return {"end_of_speech_to_final_ms": percentiles(values), "no_final_before_file_end": missed}


def run(location: ModelLocation, clips: list[Path], references: dict[str, str], folder: Path,
        bare_model: Any, configs: dict[str, dict[str, Any]] = CONFIGS, parity: int = 1,
        debug: bool = False) -> dict[str, Any]:
    clips = half(clips, parity)
    wav, spans = joined(clips, folder)
    reference = " ".join(references[clip.name] for clip in clips)
    sentences = [SENTENCES.get(clip.name, 1) for clip in clips]
    audio_s = (wav.stat().st_size - 44) / 32000
    pads = [padded(clip, PAD_S, folder) for clip in clips]
    texts, bounds, bare_cpu = _bare_joined(bare_model, wav)
    if debug:
        print("bare", [(round(a, 2), round(b, 2), t) for (a, b), t in zip(bounds, texts)], file=sys.stderr)
    out: dict[str, Any] = {"clips": len(clips), "joined_audio_s": round(audio_s, 1),
                           "clips_used": "odd-numbered (held out)" if parity else "even-numbered",
                           "bare": {**_bare_eos(bare_model, pads), **_cuts(bounds, spans, sentences),
                                    "cer": round(corpus_cer([(reference, " ".join(texts))]), 4),
                                    "rtf": round(bare_cpu / audio_s, 4)}}
    for name, config in configs.items():
        settings = Settings(**config)
        transcriber = load_transcriber(location.path, location.name, EngineOptions.from_settings(settings))
        finals, cpu_s = _daemon_joined(transcriber, wav, settings)
        if debug:
            print(name, [(round(f.start, 2), round(f.end, 2), f.raw) for f in finals], file=sys.stderr)
        row = {**_eos(transcriber, pads, settings), **_cuts([(f.start, f.end) for f in finals], spans, sentences),
               "cer": round(corpus_cer([(reference, " ".join(f.raw for f in finals))]), 4),
               "rtf": round(cpu_s / audio_s, 4)}
        row["cpu_ratio_to_bare"] = ratio(row["rtf"], out["bare"]["rtf"])
        row["cer_points_vs_bare"] = round(100 * (row["cer"] - out["bare"]["cer"]), 2)
        out[name] = row
    return out
