"""Vosk behind the engine seam. The only module that imports vosk or parses its JSON."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import tempfile
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from stt_daemon.asr.base import EngineOptions, Hypothesis, TimedWord
from stt_daemon.asr.vosk_folder import check_folder, tuned_folder
from stt_daemon.errors import ModelError
from stt_daemon.settings import SAMPLE_RATE

_LOGGER = logging.getLogger(__name__)


class _NoNetwork(types.ModuleType):
    """Stands in for ``requests`` inside vosk, which imports it only to download models
    (``vosk.Model(lang=...)``). The real one pulls in urllib3, whose import binds an IPv6
    socket to probe for IPv6; the daemon must open no IP socket at all, and never fetch."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError("stt-daemon never downloads through vosk; use 'stt-daemon models download'")


def _vosk() -> Any:
    """Imported on first use: CLI clients that never decode should not pay for it."""
    if "vosk" not in sys.modules and "requests" not in sys.modules:
        sys.modules["requests"] = _NoNetwork("requests")
        try:
            import vosk
        finally:
            del sys.modules["requests"]
    import vosk

    return vosk


def _timed_words(items: Any) -> tuple[TimedWord, ...]:
    return tuple(TimedWord(str(w["word"]), float(w["start"]), float(w["end"]), float(w.get("conf", 1.0)))
                 for w in items or ())


def parse_result(raw: str) -> Hypothesis:
    """Result()/FinalResult() JSON: {"text": ..., "result": [{"word", "start", "end", "conf"}]}."""
    data = json.loads(raw)
    return Hypothesis(str(data.get("text", "")).strip(), _timed_words(data.get("result")))


def parse_partial(raw: str) -> Hypothesis:
    """PartialResult() JSON: {"partial": ..., "partial_result": [...]} (the words only with
    SetPartialWords)."""
    data = json.loads(raw)
    return Hypothesis(str(data.get("partial", "")).strip(), _timed_words(data.get("partial_result")))


class VoskSession:
    """A KaldiRecognizer with word timings on; one utterance at a time.

    ``fresh``: at its own endpoint Vosk's Result() keeps the feature pipeline, and the audio
    not yet decoded goes to the next utterance; FinalResult() decodes it into this one and
    starts the next from new features. On held-out ko-dev sentences joined with 300-700 ms
    pauses (bench tradeoff) that read 8-10 points better in CER, its final 55-130 ms later.
    """

    def __init__(self, model: Any, fresh: bool = False) -> None:
        self._rec = _vosk().KaldiRecognizer(model, SAMPLE_RATE)
        self._rec.SetWords(True)
        self._fresh = fresh
        self._samples_fed = 0

    @property
    def samples_fed(self) -> int:
        return self._samples_fed

    def accept(self, pcm: bytes) -> bool:
        self._samples_fed += len(pcm) // 2
        return bool(self._rec.AcceptWaveform(pcm))

    def partial(self) -> Hypothesis:
        return parse_partial(self._rec.PartialResult())

    def result(self) -> Hypothesis:
        return parse_result(self._rec.FinalResult() if self._fresh else self._rec.Result())

    def final(self) -> Hypothesis:
        return parse_result(self._rec.FinalResult())

    def reset(self) -> None:
        self._rec.Reset()


class VoskTranscriber:
    """A loaded vosk.Model; sessions share it."""

    def __init__(self, model: Any, name: str, fresh_utterances: bool = False) -> None:
        self._model = model
        self._name = name
        self._fresh = fresh_utterances

    @property
    def name(self) -> str:
        return self._name

    def session(self) -> VoskSession:
        return VoskSession(self._model, self._fresh)


@contextlib.contextmanager
def _native_stderr_captured() -> Iterator[list[str]]:
    """Vosk/Kaldi write errors straight to fd 2; keep them for our own one-line message."""
    lines: list[str] = []
    with tempfile.TemporaryFile() as sink:
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            lines.extend(sink.read().decode("utf-8", "replace").splitlines())


def load(path: Path, name: str, options: EngineOptions, origin: str = "--model") -> VoskTranscriber:
    """Load a model folder; any failure becomes a ModelError with Vosk's own reason."""
    check_folder(path, origin)
    vosk = _vosk()
    vosk.SetLogLevel(0 if logging.getLogger().isEnabledFor(logging.DEBUG) else -1)  # Kaldi's chatter: -v only
    with _native_stderr_captured() as native, tuned_folder(path, options) as folder:
        try:
            model = vosk.Model(str(folder))
        except Exception:  # Vosk raises a bare Exception("Failed to create a model")
            model = None
    for line in native:
        _LOGGER.debug("vosk: %s", line)
    if model is None:
        errors = [line.split(")", 1)[-1].strip() for line in native if "ERROR" in line]
        reason = errors[-1] if errors else "Vosk could not load it"
        raise ModelError(f"cannot load model {path}: {reason[:200]}; re-download or re-unpack the model")
    return VoskTranscriber(model, name, options.fresh_utterances)
