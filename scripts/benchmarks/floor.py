"""The engine's own lag: how late Vosk itself shows a word, on an infinitely fast machine.

The words section measures what the user sees through the virtual microphone, compute time
included. This one takes the machine out: a clip is fed 10 ms at a time, flat out, with a
partial after every call, and every time is audio time (how much audio the recognizer had
been given). A word's lag is its end (the final's word times) to the audio position at which
it first stood, at its place, in every later partial until the final (the rule of
pipeline/perceived.py); end of speech -> final is the last word's end to the position at
which Vosk ended the utterance. No pipeline around Vosk can show a word sooner than Vosk's
partial holds it, so these are floors for the daemon's figures at the same decode chunk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scripts.benchmarks.common import percentiles
from stt_daemon.asr.base import EngineOptions, Hypothesis, StreamingSession
from stt_daemon.asr.factory import load_transcriber
from stt_daemon.models.locate import ModelLocation
from stt_daemon.pipeline.perceived import shown_since
from stt_daemon.settings import SAMPLE_RATE

STEP_BYTES = SAMPLE_RATE // 100 * 2  # 10 ms, one feature frame
TAIL_S = 2.0  # silence after each clip, for Vosk's endpoint rules to end it


class _Clip:
    """One clip through one session: the changed partials since the last final, in audio time."""

    def __init__(self, session: StreamingSession) -> None:
        self.session = session
        self.base = session.samples_fed
        self.history: list[tuple[float, list[str]]] = []
        self.lags_s: list[float] = []
        self.ends_s: list[float] = []

    @property
    def position_s(self) -> float:
        return (self.session.samples_fed - self.base) / SAMPLE_RATE

    def partial(self, hyp: Hypothesis) -> None:
        words = hyp.text.split()
        if words and (not self.history or self.history[-1][1] != words):
            self.history.append((self.position_s, words))

    def final(self, hyp: Hypothesis) -> None:
        shift_s = self.base / SAMPLE_RATE
        since = shown_since(((words, at_s) for at_s, words in self.history), [w.word for w in hyp.words])
        for first, word in zip(since, hyp.words):  # None: shown by the final itself
            self.lags_s.append((self.position_s if first is None else first) - (word.end_s - shift_s))
        if hyp.words:
            self.ends_s.append(self.position_s - (hyp.words[-1].end_s - shift_s))
        self.history = []


def engine_lag(location: ModelLocation, clips: list[Path], interval_ms: int) -> dict[str, Any]:
    """Word lag and end of speech -> final, in audio time, for Vosk at ``interval_ms`` chunks with
    the daemon's endpoint rules."""
    transcriber = load_transcriber(location.path, location.name,
                                   EngineOptions(partial_interval_ms=interval_ms, tuned_endpoints=True))
    lags_s: list[float] = []
    ends_s: list[float] = []
    for clip in clips:
        run = _Clip(transcriber.session())
        pcm = clip.read_bytes()[44:] + bytes(int(TAIL_S * SAMPLE_RATE) * 2)
        for offset in range(0, len(pcm), STEP_BYTES):
            if run.session.accept(pcm[offset:offset + STEP_BYTES]):
                run.final(run.session.result())
            else:
                run.partial(run.session.partial())
        run.final(run.session.final())
        lags_s += run.lags_s
        ends_s += run.ends_s
    return {"word_lag_ms": percentiles([1000 * s for s in lags_s]),
            "end_of_speech_to_final_ms": percentiles([1000 * s for s in ends_s])}


def run(location: ModelLocation, clips: list[Path], intervals_ms: tuple[int, ...]) -> dict[str, Any]:
    return {"clips": len(clips), "step_ms": 10,
            "chunks": {f"{ms}ms": engine_lag(location, clips, ms) for ms in intervals_ms}}
