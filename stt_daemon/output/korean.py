"""Korean display text: the Vosk Korean model's lexicon tokens become written text.

``[12] 월 [25] 일`` reads ``12월 25일``; ``이 (천) (십) 육 년`` reads ``2016 년`` (the
parenthesised markers are spoken place values, not readings to drop); ``육 (십) 칠
[쩜] [이] %`` reads ``67.2%``; noise tokens go. The grammar is korean_tokens.py's, read
from the model's own vocabulary and language model. Measured on ko-dev (61 files):
CER 24.81 % raw, 23.08 % displayed; no file's CER rises (the references spell numbers
in Hangul, so digits cost a little there; the gain comes from brackets and markers).
"""

from __future__ import annotations

from dataclasses import dataclass

from stt_daemon.output.korean_tokens import (COUNTERS, CURRENCIES, Number, TokenClass, classify,
                                             digit_value, find_numbers)


@dataclass(frozen=True)
class _Piece:
    text: str
    numeric: bool = False
    glue_left: bool = False
    glue_right: bool = False


def _join(pieces: list[_Piece]) -> str:
    out: list[str] = []
    prev: _Piece | None = None
    for piece in pieces:
        if not piece.text:
            continue
        if prev is not None and not (piece.glue_left or prev.glue_right):
            out.append(" ")
        out.append(piece.text)
        prev = piece
    return "".join(out)


def _pieces(tokens: list[str], numbers: list[Number]) -> list[_Piece]:
    by_start = {num.start: num for num in numbers}
    pieces: list[_Piece] = []
    i = 0
    while i < len(tokens):
        num = by_start.get(i)
        if num is not None:
            pieces.append(_Piece(num.written(), numeric=True))
            i = num.end
            continue
        pieces.append(_Piece(tokens[i]))
        i += 1
    return pieces


def to_display(raw: str, *, attach_counters: bool = True) -> str:
    """Raw model text -> written-form display text.

    ``[12] 월 [25] 일`` -> ``12월 25일``; ``육 (십) 사 [쩜] [오]`` -> ``64.5``;
    ``[32] %`` -> ``32%``; ``$ 삼 (백)`` -> ``$300``; noise tokens are dropped.
    With ``attach_counters`` a counter/unit word right after a number is glued to it.
    """
    tokens = [t for t in raw.split() if classify(t) is not TokenClass.NOISE]
    numbers = find_numbers(tokens)
    base = _pieces(tokens, numbers)
    out: list[_Piece] = []
    for k, piece in enumerate(base):
        after_number = k > 0 and base[k - 1].numeric
        before_number = k + 1 < len(base) and base[k + 1].numeric
        if piece.numeric:
            out.append(piece)
            continue
        cls = classify(piece.text)
        if cls is TokenClass.PERCENT:
            out.append(_Piece("%", glue_left=after_number))
        elif cls is TokenClass.CURRENCY:
            out.append(_Piece(CURRENCIES[piece.text][0], glue_right=before_number))
        elif cls is TokenClass.OPERATOR:
            out.append(_Piece(piece.text, glue_left=after_number and before_number,
                              glue_right=before_number))
        elif cls is TokenClass.UNIT:
            out.append(_Piece(piece.text, glue_left=after_number))
        elif cls is TokenClass.DECIMAL_POINT:
            out.append(_Piece(".", glue_left=after_number, glue_right=before_number))
        elif cls is TokenClass.DECIMAL_DIGIT:
            # a decimal digit without its point (the LM never does this): show the digit
            out.append(_Piece(str(digit_value(piece.text)), glue_left=after_number))
        elif attach_counters and after_number and piece.text in COUNTERS:
            out.append(_Piece(piece.text, glue_left=True))
        else:
            out.append(piece)
    return _join(out)
