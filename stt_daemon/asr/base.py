"""The engine seam: what the pipeline needs from any speech recognizer, in neutral types.

As in wyoming-faster-whisper, a loaded model (``Transcriber``) is split from the
decoding of one stream (``StreamingSession``). A transcriber is read-only and may
be shared by threads; a session belongs to one thread at a time. Nothing here
knows Vosk; ``asr.factory`` picks the engine for a model folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from stt_daemon.settings import Settings


@dataclass(frozen=True, slots=True)
class TimedWord:
    word: str
    start_s: float  # on the session's own clock: seconds of audio it was fed since it was made
    end_s: float
    conf: float


@dataclass(frozen=True, slots=True)
class Hypothesis:
    text: str
    words: tuple[TimedWord, ...] = ()


@dataclass(frozen=True)
class EngineOptions:
    """What shapes a recognizer beyond its model; a change means building a new one."""

    endpoint_silence_ms: int | None = None  # trailing silence that ends an utterance
    partial_interval_ms: int | None = None  # how often the engine decodes (partials can change)
    tuned_endpoints: bool = False  # the engine's endpoint rules as we measured best, not its own
    fresh_utterances: bool = False  # an utterance the engine ends is flushed; the next starts afresh

    @classmethod
    def from_settings(cls, settings: Settings) -> EngineOptions:
        return cls(settings.endpoint_silence_ms, settings.partial_interval_ms, settings.tuned_endpoints,
                   settings.fresh_utterances)


class StreamingSession(Protocol):
    """One stream being decoded; used by one thread at a time."""

    @property
    def samples_fed(self) -> int:
        """Samples accepted since the session was made (its clock, at 16 kHz)."""
        ...

    def accept(self, pcm: bytes) -> bool:
        """Feed 16 kHz mono s16 audio; True when the engine's endpointer closed an utterance
        (then call result())."""
        ...

    def partial(self) -> Hypothesis:
        """The utterance in progress, as it stands."""
        ...

    def result(self) -> Hypothesis:
        """The utterance the endpointer just closed."""
        ...

    def final(self) -> Hypothesis:
        """Flush whatever is pending as a result, ending the utterance now."""
        ...

    def reset(self) -> None:
        """Discard the utterance in progress."""
        ...


class Transcriber(Protocol):
    """A loaded model, ready to make sessions."""

    @property
    def name(self) -> str:
        """The model's folder name: what D-Bus ``Model`` and messages show."""
        ...

    def session(self) -> StreamingSession: ...
