"""Character error rate, the accuracy figure that suits a model that spaces morphemes."""

from __future__ import annotations

from collections.abc import Iterable


def edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def squeeze(text: str) -> str:
    """Spaces removed: Korean spacing differs between references and Vosk's morphemes."""
    return "".join(text.split())


def corpus_cer(pairs: Iterable[tuple[str, str]]) -> float:
    """Sum of edits over sum of reference characters, for (reference, hypothesis) pairs."""
    edits = chars = 0
    for reference, hypothesis in pairs:
        ref, hyp = squeeze(reference), squeeze(hypothesis)
        edits += edit_distance(ref, hyp)
        chars += len(ref)
    return edits / max(chars, 1)
