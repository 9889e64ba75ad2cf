"""What dictation typed, utterance by utterance: where, and how many characters, so that
"scratch that" removes exactly the last utterance and nothing before it."""

from __future__ import annotations

import collections
from dataclasses import dataclass


@dataclass
class Entry:
    utterance: int
    window: str | None  # the focused window it went to, when the backend can tell
    characters: int  # what one BackSpace each removes: characters, newlines, the space after


class Ledger:
    def __init__(self, keep: int = 50) -> None:
        self._entries: collections.deque[Entry] = collections.deque(maxlen=keep)

    def typed(self, utterance: int, window: str | None, characters: int) -> None:
        if characters:
            self._entries.append(Entry(utterance, window, characters))

    def last(self) -> Entry | None:
        return self._entries[-1] if self._entries else None

    def forget_last(self) -> None:
        if self._entries:
            self._entries.pop()
