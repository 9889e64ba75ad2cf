"""The user's replacement rules (config.toml's [replace] table): a word or phrase, or a
/regular expression/, and the text to write instead. Applied last, to display text.

    [replace]
    "stt daemon" = "stt-daemon"      # whole words, any case
    "/\\b(\\d+) percent\\b/" = "\\1%"   # a regular expression and its replacement
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping


def _pattern(key: str) -> re.Pattern[str]:
    if len(key) > 2 and key.startswith("/") and key.endswith("/"):
        return re.compile(key[1:-1])
    return re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, key.split())) + r"(?!\w)", re.IGNORECASE)


def check_rules(rules: Mapping[str, str]) -> None:
    """Raises ValueError naming the first rule that cannot work."""
    for key, value in rules.items():
        if not key.strip():
            raise ValueError("has an empty rule; write a word, a phrase or a /regular expression/")
        try:
            pattern = _pattern(key)
            pattern.sub(value if key.startswith("/") else value.replace("\\", "\\\\"), "")
        except (re.error, IndexError) as exc:
            raise ValueError(f"rule {key!r} is not a valid regular expression or replacement ({exc})") from None


def replacer(rules: Mapping[str, str]) -> Callable[[str], str]:
    compiled = [(_pattern(key), value if key.startswith("/") else value.replace("\\", "\\\\"))
                for key, value in rules.items()]

    def replace(text: str) -> str:
        for pattern, value in compiled:
            text = pattern.sub(value, text)
        return text

    return replace
