"""Latency as the user sees it, measured live: how soon a spoken word is on screen, how soon
the final comes after speech ends, how soon the first partial comes after speech starts.

The recognizer dates words in stream time; each block tells when its audio was
captured, so a word's end maps to the moment the microphone delivered it. A word
counts as shown from the first partial that held it, at its place, in every partial
after that until the final; a word that first appears in the final is shown then.
"""

from __future__ import annotations

import bisect
import collections
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from stt_daemon.events import Final

T = TypeVar("T")

_HISTORY_S = 120.0  # how far back a stream time can be mapped to its capture time


@dataclass(frozen=True)
class Percentiles:
    n: int
    p50_ms: float
    p90_ms: float
    p99_ms: float


class _Ring:
    def __init__(self, size: int) -> None:
        self._values: collections.deque[float] = collections.deque(maxlen=size)

    def add(self, value_ms: float) -> None:
        self._values.append(value_ms)

    def percentiles(self) -> Percentiles:
        values = list(self._values)
        if not values:
            return Percentiles(0, 0.0, 0.0, 0.0)
        p50, p90, p99 = (round(float(v), 1) for v in np.percentile(values, [50, 90, 99]))
        return Percentiles(len(values), p50, p90, p99)


def shown_since(partials: Iterable[tuple[Sequence[str], T]], final_words: Sequence[str]) -> list[T | None]:
    """Per word of a final: when it began to stand, at its place, in every partial after that
    until the final (the partials' moments, in order); None if no partial held it to the end."""
    since: list[T | None] = [None] * len(final_words)
    for words, at in partials:
        for i, word in enumerate(final_words):
            held = i < len(words) and words[i] == word
            since[i] = (at if since[i] is None else since[i]) if held else None
    return since


class PerceivedLatency:
    """Fed by the worker; read by GetStats and --stats from other threads."""

    def __init__(self, window: int = 2000) -> None:
        self._ends: list[float] = []  # stream time at the end of each decoded stretch, rising
        self._captured: list[int] = []  # when that stretch's last block was delivered
        self._partials: list[tuple[tuple[str, ...], int]] = []  # the utterance's words, when shown
        self._lock = threading.Lock()
        self.words = _Ring(window)
        self.end_of_speech = _Ring(window // 10)
        self.onset = _Ring(window // 10)

    def block(self, stream_end_s: float, captured_ns: int) -> None:
        """The audio up to ``stream_end_s`` was delivered at ``captured_ns``."""
        self._ends.append(stream_end_s)
        self._captured.append(captured_ns)
        if self._ends[0] < stream_end_s - 2 * _HISTORY_S:  # trim now and then: amortized O(1)
            keep = bisect.bisect_left(self._ends, stream_end_s - _HISTORY_S)
            del self._ends[:keep], self._captured[:keep]

    def captured_ns(self, stream_s: float) -> int | None:
        """When the microphone delivered the sample at ``stream_s`` (None: too old or not yet)."""
        i = bisect.bisect_left(self._ends, stream_s)
        if i == len(self._ends) or (i == 0 and stream_s < self._ends[0] - 1.0):
            return None
        return self._captured[i] - int((self._ends[i] - stream_s) * 1e9)

    def partial(self, words: tuple[str, ...], shown_ns: int) -> None:
        self._partials.append((words, shown_ns))

    def forget_utterance(self) -> None:
        self._partials = []

    def final(self, final: Final, shown_ns: int) -> None:
        """Record the utterance's figures, then forget its partials."""
        partials, self._partials = self._partials, []
        if not final.words:
            return
        since = shown_since(partials, [word.word for word in final.words])
        with self._lock:
            for i, word in enumerate(final.words):
                spoken = self.captured_ns(word.end)
                if spoken is not None:
                    self.words.add(((since[i] or shown_ns) - spoken) / 1e6)
            ended = self.captured_ns(final.words[-1].end)
            if ended is not None:
                self.end_of_speech.add((shown_ns - ended) / 1e6)
            began = self.captured_ns(final.words[0].start)
            if partials and began is not None:
                self.onset.add((partials[0][1] - began) / 1e6)

    def summary(self) -> dict[str, Percentiles]:
        with self._lock:
            return {"word": self.words.percentiles(), "end_of_speech": self.end_of_speech.percentiles(),
                    "onset": self.onset.percentiles()}
