"""Display text for cased languages: Vosk writes lower-case words with no punctuation.

Each utterance reads as a sentence (a capital first letter; English "i" as "I"), and,
when asked, English number words become digits ("twenty five" -> "25"). Punctuation
is the speaker's to say (spoken commands, dictate); nothing here invents it.
"""

from __future__ import annotations

import re

_SMALL = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen".split())}
_TENS = {w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}
_NUMBER_WORDS = set(_SMALL) | set(_TENS) | set(_SCALES)


def sentence_case(text: str, language: str) -> str:
    if not text:
        return text
    if language == "en":
        text = re.sub(r"\bi\b", "I", text)
    return text[0].upper() + text[1:]


def _value(words: list[str]) -> int:
    total = current = 0
    for word in words:
        if word in _SMALL:
            current += _SMALL[word]
        elif word in _TENS:
            current += _TENS[word]
        elif word == "hundred":
            current = (current or 1) * 100
        else:
            total += (current or 1) * _SCALES[word]
            current = 0
    return total + current


def english_digits(text: str) -> str:
    """Runs of English number words as digits: "three hundred and five" -> "305"."""
    words = text.split(" ")
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            out.append(str(_value(run)))
            run.clear()

    for i, word in enumerate(words):
        if word.lower() in _NUMBER_WORDS:
            run.append(word.lower())
        elif word.lower() == "and" and run and i + 1 < len(words) and words[i + 1].lower() in _NUMBER_WORDS:
            continue  # "hundred and five"
        else:
            flush()
            out.append(word)
    flush()
    return " ".join(out)
