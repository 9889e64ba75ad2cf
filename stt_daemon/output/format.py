"""The formatting stage between the recognizer and the sinks.

A chain of text transforms, applied in order to every partial and final. The
recognizer's raw text always travels on beside the result (``Event.raw``), so
each sink can choose; word timings stay the recognizer's own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from stt_daemon.events import Event

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
        return dataclasses.replace(event, text=self.text(event.raw))
