"""The only module that talks to KaldiRecognizer and parses Vosk's JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from stt_daemon.settings import SAMPLE_RATE


@dataclass(frozen=True, slots=True)
class VoskWord:
    word: str
    start_s: float  # on the recognizer's own clock: seconds since it was created
    end_s: float
    conf: float


@dataclass(frozen=True, slots=True)
class Hypothesis:
    text: str
    words: tuple[VoskWord, ...]


def set_vosk_log_level(verbose: bool) -> None:
    import vosk

    vosk.SetLogLevel(0 if verbose else -1)


def parse_result(raw: str) -> Hypothesis:
    """Parse Result()/FinalResult() JSON: {"text": ..., "result": [{"word", "start", "end", "conf"}]}."""
    data = json.loads(raw)
    words = tuple(
        VoskWord(str(w["word"]), float(w["start"]), float(w["end"]), float(w.get("conf", 1.0)))
        for w in data.get("result", ())
    )
    return Hypothesis(str(data.get("text", "")).strip(), words)


def parse_partial(raw: str) -> str:
    return str(json.loads(raw).get("partial", "")).strip()


class VoskBackend:
    """A KaldiRecognizer with word timings on; one utterance at a time."""

    def __init__(self, model: Any) -> None:
        import vosk

        self._rec = vosk.KaldiRecognizer(model, SAMPLE_RATE)
        self._rec.SetWords(True)
        self.samples_fed = 0

    def accept(self, pcm: bytes) -> bool:
        """Feed audio; True when Vosk's endpointer closed an utterance (call result())."""
        self.samples_fed += len(pcm) // 2
        return bool(self._rec.AcceptWaveform(pcm))

    def partial(self) -> str:
        return parse_partial(self._rec.PartialResult())

    def result(self) -> Hypothesis:
        return parse_result(self._rec.Result())

    def final(self) -> Hypothesis:
        """Flush whatever is pending as a result, ending the utterance."""
        return parse_result(self._rec.FinalResult())

    def reset(self) -> None:
        """Discard the utterance in progress."""
        self._rec.Reset()
