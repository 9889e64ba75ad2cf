"""Spoken commands: words in an utterance that become keys or actions instead of text.

Punctuation and line breaks work anywhere in an utterance ("hello comma world period");
"scratch that" and "stop listening" work when they are the whole utterance. Each language
has defaults; config.toml's [commands] table adds phrases or replaces them:

    [commands]
    "next line" = "newline"        # newline, paragraph, scratch, stop, or the text to write
    "smiley" = ":)"

Korean is matched with its spaces removed, since the model spaces morphemes its own way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

ACTIONS = ("newline", "paragraph", "scratch", "stop")

DEFAULTS: dict[str, dict[str, str]] = {
    "en": {"new line": "newline", "new paragraph": "paragraph", "period": ".", "full stop": ".",
           "comma": ",", "question mark": "?", "exclamation mark": "!", "colon": ":",
           "scratch that": "scratch", "stop listening": "stop"},
    "ko": {"줄 바꿈": "newline", "다음 줄": "newline", "새 문단": "paragraph", "마침표": ".", "쉼표": ",",
           "물음표": "?", "느낌표": "!", "지워 줘": "scratch", "방금 거 지워": "scratch",
           "듣기 중지": "stop", "그만 듣기": "stop"},
}
_WHOLE_ONLY = ("scratch", "stop")


@dataclass(frozen=True)
class Action:
    kind: str  # "text", "newline", "scratch" or "stop"
    text: str = ""


class Commands:
    def __init__(self, language: str | None, extra: Mapping[str, str] | None = None) -> None:
        self._squeeze = language in ("ko", "ja", "zh", "cn")
        self._cased = language in ("en", "de", "fr", "es", "it", "pt", "nl", "ru")
        table = {**DEFAULTS.get(language or "", {}), **(extra or {})}
        self._table = {self._key(phrase.split()): action for phrase, action in table.items()}
        self._longest = max((len(phrase.split()) for phrase in table), default=0)

    def _key(self, words: list[str]) -> str:
        words = [w.lower().strip(".,!?") for w in words]
        return "".join(words) if self._squeeze else " ".join(words)

    def could_be_whole_command(self, text: str) -> bool:
        """Could ``text``, the words heard so far, still grow into a command that only works as
        the whole utterance ("scratch that")? Live typing waits until it cannot."""
        key = self._key(text.split())
        for phrase, action in self._table.items():
            if action in _WHOLE_ONLY and (phrase == key or phrase.startswith(key if self._squeeze else key + " ")
                                          or not key):
                return True
        return False

    def parse(self, text: str) -> list[Action]:
        """What to do for one utterance's text, in order."""
        words = text.split()
        whole = self._table.get(self._key(words))
        if whole in _WHOLE_ONLY:
            return [Action(whole)]
        actions: list[Action] = []
        pending: list[str] = []

        def flush() -> None:
            if pending:
                actions.append(Action("text", " ".join(pending)))
                pending.clear()

        i = 0
        while i < len(words):
            for size in range(min(self._longest, len(words) - i), 0, -1):
                action = self._table.get(self._key(words[i:i + size]))
                if action is not None and action not in _WHOLE_ONLY:
                    break
            else:
                pending.append(words[i])
                i += 1
                continue
            i += size
            if action in ("newline", "paragraph"):
                flush()
                actions.extend([Action("newline")] * (2 if action == "paragraph" else 1))
            elif pending:
                pending[-1] += action  # punctuation joins the word before it
            else:
                actions.append(Action("text", action))
            if self._cased and action in (".", "?", "!") and i < len(words):
                words[i] = words[i][:1].upper() + words[i][1:]  # a new sentence
        flush()
        return actions
