"""What flows from the recognizer through formatting to the sinks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Word:
    word: str
    start: float  # seconds from the start of the stream
    end: float
    conf: float


@dataclass(frozen=True, slots=True)
class Partial:
    utterance: int
    text: str  # formatted for display
    raw: str  # the recognizer's own text, before formatting
    captured_ns: int  # capture time of the newest block behind this event
    stable_words: int = 0  # leading words of ``raw`` that will not change (pipeline/stable.py)
    stable_text: str = ""  # those words, formatted for display like ``text``
    stable_grew: bool = False  # the stable prefix is longer than in the utterance's last partial

    @property
    def stable_raw(self) -> str:
        """The stable prefix in the recognizer's own words."""
        return " ".join(self.raw.split()[:self.stable_words])


@dataclass(frozen=True, slots=True)
class Final:
    utterance: int
    text: str  # formatted for display
    raw: str  # the recognizer's own text, before formatting
    start: float
    end: float
    words: tuple[Word, ...]  # the recognizer's words, unformatted
    captured_ns: int


Event = Partial | Final
