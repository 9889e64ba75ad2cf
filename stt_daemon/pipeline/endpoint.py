"""When the daemon ends an utterance itself, before the engine's own endpointer does.

Vosk ends an utterance after 0.5-1 s of trailing silence, whatever was said. Rules of our
own, all judged on the speech detector's trailing silence:
- ``silence_ms`` (``--endpoint-silence-ms``): that much silence ends any utterance. Without
  the option, a backstop of 2 s (Vosk's own last rule): Vosk does not always end an
  utterance (on digital silence after some speech it never did, bare or not, and the final
  waited for the next words or for the stop), and a final must come once speech ends;
- ``sentence_end_ms`` (``--sentence-end-silence-ms``): a shorter silence ends an utterance
  whose partial already ends a sentence. In Korean a sentence ends in a verb's final form
  (-다, -요, -까, -죠, -니다...), which Korean speakers rarely pause after mid-sentence;
  an inner pause follows a connective (-고, -서, -는데) or a noun instead. Languages without
  such a rule here end utterances by silence alone.

The sentence rule is opt-in: on held-out ko-dev sentences joined with 300-700 ms pauses
(scripts/benchmarks/tradeoff.py), with 120 ms chunks and tuned engine rules it brought end
of speech -> final p50 from 1132 ms to 405 ms, but cut 3 sentences where bare Vosk cut 1
(-다가 reads as -다 until the next syllable) and cost 1.25x bare CPU; so it does not meet
issue 10's constraints yet.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

#: The Vosk Korean model writes morphemes apart ("것 같아요", "하 였다"): a sentence ends when
#: the last token is a final ending, or a word ending in one.
_KOREAN_FINAL = re.compile(r"(다|요|까|죠|니다|네요|세요|군요)$")
_KOREAN_NOT_FINAL = re.compile(r"(^|\s)(는데|지만|면서)$")


def korean_sentence_ends(text: str) -> bool:
    """Does this Korean partial read as a finished sentence?"""
    text = text.strip()
    return bool(text) and bool(_KOREAN_FINAL.search(text)) and not _KOREAN_NOT_FINAL.search(text)


SENTENCE_ENDS: dict[str, Callable[[str], bool]] = {"ko": korean_sentence_ends}


@dataclass(frozen=True)
class Endpointing:
    """The daemon's own end-of-utterance rules; ``None`` turns a rule off."""

    silence_ms: int | None = None
    sentence_end_ms: int | None = None
    sentence_ends: Callable[[str], bool] | None = None

    def due(self, trailing_silence_ms: int, partial: str) -> bool:
        """Should the utterance whose latest partial is ``partial`` end now?"""
        if self.silence_ms is not None and trailing_silence_ms >= self.silence_ms:
            return True
        return (self.sentence_end_ms is not None and self.sentence_ends is not None
                and trailing_silence_ms >= self.sentence_end_ms and self.sentence_ends(partial))

    @property
    def can_wait(self) -> bool:
        """May the speech detector go unasked while the engine still hears words? Only when no
        rule is shorter than the backstop: the detector then catches up on the last 2.5 s."""
        rules = [ms for ms in (self.silence_ms, self.sentence_end_ms if self.sentence_ends else None)
                 if ms is not None]
        return not rules or min(rules) >= BACKSTOP_MS


BACKSTOP_MS = 2000


def build_endpointing(silence_ms: int | None, sentence_end_ms: int, language: str | None) -> Endpointing:
    """The rules for a language (from the settings, or the model's name); 0 turns the sentence rule off."""
    rule = SENTENCE_ENDS.get(language or "")
    return Endpointing(silence_ms if silence_ms is not None else BACKSTOP_MS,
                       sentence_end_ms if rule is not None and sentence_end_ms > 0 else None, rule)
