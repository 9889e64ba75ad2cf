"""Real-time behaviour on the real pipeline: overload, endpointing, warm-up, recycling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stt_daemon.audio import Block
from stt_daemon.events import Final
from stt_daemon.models import ModelLocation, load_model
from stt_daemon.overload import Level
from stt_daemon.recognizer import Recognizer
from stt_daemon.settings import EngineSettings
from stt_daemon.textmetrics import corpus_cer
from stt_daemon.tuning import Tuning
from stt_daemon.vosk_backend import VoskBackend
from tests.pipeline_helpers import SlowBackend, concat, run_file

COLD = EngineSettings(warm_up=False)
UNGATED = EngineSettings(warm_up=False, gate_silence=False)


@pytest.fixture(scope="module")
def padded_long(ko_dev: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An 11 s utterance and 4 s of silence after it, room to recover."""
    return concat([ko_dev / "etts_adc00001.wav"], tmp_path_factory.mktemp("rt") / "long.wav", 4.0)


def test_overload_climbs_the_ladder_recovers_and_loses_nothing(vosk_model: Any, padded_long: Path) -> None:
    reference, _ = run_file(vosk_model, padded_long, UNGATED)
    slow: list[SlowBackend] = []

    def make_slow() -> SlowBackend:
        slow.append(SlowBackend(VoskBackend(vosk_model), delay_s=0.045, from_s=1.0, to_s=3.0))
        return slow[-1]

    sink, controller = run_file(vosk_model, padded_long, COLD, realtime=True, make_backend=make_slow)
    stats = controller.stats()
    assert controller.ladder.max_level >= Level.CATCH_UP, "the overload was detected and acted on"
    assert controller.ladder.level == Level.NORMAL, "and it recovered afterwards"
    assert stats["drops"] == 0 and stats["over_budget"] > 0
    # Catching up hands fewer, bigger blocks to Vosk than the 100 slow blocks a naive loop would.
    assert slow[0].slow_calls < 100
    texts = [f.text for f in sink.finals()]
    expected = [f.text for f in reference.finals()]
    assert len(texts) == len(expected) and corpus_cer(zip(expected, texts)) <= 0.05


def _final_position_s(model: Any, path: Path) -> tuple[float, str]:
    """Stream time (s) of the block that produced the first final, fed in 20 ms blocks."""
    recognizer = Recognizer(VoskBackend(model))
    pcm = path.read_bytes()[44:]
    for offset in range(0, len(pcm), 640):
        events = recognizer.accept(Block(0, pcm[offset:offset + 640]))
        finals = [e for e in events if isinstance(e, Final)]
        if finals:
            return (offset + 640) / 32000, finals[0].text
    raise AssertionError("no final before the end of the file")


def test_short_endpoint_silence_gives_finals_sooner(model_dir: Path, ko_dev: Path, tmp_path: Path) -> None:
    clip = concat([ko_dev / "etts_kih00012.wav"], tmp_path / "clip.wav", 3.0)
    location = ModelLocation(model_dir, "test")
    default_s, default_text = _final_position_s(load_model(location), clip)
    short_s, short_text = _final_position_s(load_model(location, Tuning(endpoint_silence_ms=200)), clip)
    print(f"\nfinal at {default_s:.2f} s by default, {short_s:.2f} s with 200 ms")
    assert short_s < default_s
    assert short_text and corpus_cer([(default_text, short_text)]) <= 0.1


def test_warm_up_does_not_shift_utterance_ids_or_times(vosk_model: Any, ko_dev: Path) -> None:
    clip = ko_dev / "etts_kih00012.wav"
    cold, _ = run_file(vosk_model, clip, COLD)
    warm, controller = run_file(vosk_model, clip, EngineSettings(warm_up=True))
    (c,), (w,) = cold.finals(), warm.finals()
    assert w.utterance == c.utterance == 1
    assert abs(w.start - c.start) < 0.05 and abs(w.end - c.end) < 0.05


def test_recycling_swaps_recognizers_between_utterances_without_a_seam(
        vosk_model: Any, ko_dev: Path, tmp_path: Path) -> None:
    names = ["etts_kih00012.wav", "etts_kih00023.wav", "etts_kih00033.wav", "etts_kih00001.wav",
             "etts_kih00055.wav", "etts_kih00066.wav", "etts_kih00077.wav", "etts_kih00088.wav"]
    joined = concat([ko_dev / n for n in names], tmp_path / "many.wav", 1.5)
    reference, _ = run_file(vosk_model, joined, COLD)
    recycled, controller = run_file(vosk_model, joined, EngineSettings(warm_up=False, recycle_after_s=3))
    assert controller.recycler.recycled >= 1
    ref_finals, finals = reference.finals(), recycled.finals()
    assert [f.utterance for f in finals] == list(range(1, len(finals) + 1))
    assert corpus_cer((a.text, b.text) for a, b in zip(ref_finals, finals)) <= 0.05
    assert len(finals) == len(ref_finals)
    starts = [f.start for f in finals]
    assert starts == sorted(starts), "stream time runs on across the swap"
    # A fresh recognizer may hear a word differently; where the text agrees, so must the times.
    same = [(a, b) for a, b in zip(ref_finals, finals) if a.text == b.text]
    assert len(same) >= len(finals) // 2
    for a, b in same:
        assert abs(a.start - b.start) < 0.1 and abs(a.end - b.end) < 0.1


def test_silence_gate_skips_long_silence_and_keeps_times_exact(vosk_model: Any, ko_dev: Path,
                                                                tmp_path: Path) -> None:
    joined = concat([ko_dev / "etts_kih00012.wav", ko_dev / "etts_kih00023.wav"], tmp_path / "gap.wav", 6.0)
    reference, _ = run_file(vosk_model, joined, UNGATED)
    gated, controller = run_file(vosk_model, joined, COLD)
    assert controller.stats()["gated_blocks"] > 300, "most of two 6 s silences never reached Vosk"
    ref, got = reference.finals(), gated.finals()
    assert [f.text for f in got] == [f.text for f in ref]
    for a, b in zip(ref, got):  # the second clip starts 9.4 s in, with or without the gate
        assert abs(a.start - b.start) < 0.05 and abs(a.end - b.end) < 0.05


def test_energy_endpointer_ends_utterances_soon_after_speech(vosk_model: Any, ko_dev: Path,
                                                             tmp_path: Path) -> None:
    clip = concat([ko_dev / "etts_kih00023.wav"], tmp_path / "clip.wav", 3.0)
    speech_end_s = (ko_dev / "etts_kih00023.wav").stat().st_size / 32000  # an upper bound
    default, _ = run_file(vosk_model, clip, COLD)
    short, _ = run_file(vosk_model, clip, EngineSettings(warm_up=False, endpoint_silence_ms=300))
    default_at, short_at = default.final_positions_s()[-1], short.final_positions_s()[-1]
    print(f"\nfinal at {default_at:.2f} s by default, {short_at:.2f} s with a 300 ms endpoint")
    assert short_at < default_at
    assert short_at <= speech_end_s + 0.5
    assert corpus_cer([(default.finals()[-1].text, " ".join(f.text for f in short.finals()))]) <= 0.1
