"""The stable prefix on real parts: the Korean model, ko-dev speech, a private dbus-daemon.

Files are read flat out (not paced), so what the recognizer sees does not depend on the
machine's speed. The figures test has a model of its own: a shared one reads the audio
differently after serving other tests (conftest: fresh_transcriber); under CI that once made
it 26 retractions of 305 instead of 21 of 308. With a model of its own it read 21 of 308
alone and 21 of 310 (29 finals, not 30) with the bench running beside it: nearly, not
exactly, the same under load.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from stt_daemon.asr.base import Transcriber
from stt_daemon.events import Final, Partial
from stt_daemon.asr.base import Hypothesis, TimedWord
from stt_daemon.pipeline.stable import StablePrefix, continuation, keep_stable
from stt_daemon.pipeline.utterances import kept_words
from stt_daemon.settings import Settings
from tests.dbus_helpers import SignalCollector, start
from tests.pipeline_helpers import concat, retracted_words, run_file

#: Measured on this test's 30 clips (2026-12-04): 306 stable words of about 360 in the finals
#: (85 %), 22 of them overruled by the engine's final (7.2 %) and kept, a word stable p50 about
#: 1.05 s (p90 1.56 s) after its audio ends. The engine's final re-decodes the utterance and would
#: change words that stood unchanged in every partial for seconds (about 5-6 % however long one
#: waits; see stt_daemon/pipeline/stable.py), so the daemon keeps them. The bounds below are that
#: measurement plus a margin: the run nearly repeats on one machine (files read flat out, a model of
#: its own), so the margin allows for load and for another CPU's or Vosk build's arithmetic.
OVERRULED_CEILING = 0.09
STABLE_SHARE_FLOOR = 0.75  # of the finals' words: the rule must not pass by declaring little
DELAY_P50_CEILING_S = 1.4  # a word's end (final's word times) -> it became stable, in audio time


@pytest.fixture(scope="module")
def joined(ko_dev: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30 ko-dev clips, each followed by 0.8 s of silence: dictation with pauses."""
    clips = sorted(ko_dev.glob("*.wav"))[::2]
    return concat(clips, tmp_path_factory.mktemp("stable") / "joined.wav", 0.8)


def test_stable_words_stay_in_every_later_partial_and_in_the_final(
        fresh_transcriber: Callable[[], Transcriber], joined: Path) -> None:
    """The figures measured through the real pipeline, with the bounds stated above: once
    stable, a word is in every later partial and in the final, at its place; the final's
    words and times still line up with its text."""
    sink, controller = run_file(fresh_transcriber(), joined, Settings())
    stats = controller.stats()
    utterances: dict[int, list[Partial]] = {}
    for _, event in sink.events:
        if isinstance(event, Partial):
            utterances.setdefault(event.utterance, []).append(event)
    finals = {f.utterance: f for f in sink.finals()}
    positions = {id(e): pos for pos, e in sink.events}
    delays_s: list[float] = []  # per stable word: its end (the final's word times) -> stable, in audio time
    for utterance, partials in utterances.items():
        final: Final = finals[utterance]
        assert [w.word for w in final.words] == final.raw.split(), final
        assert all(a.start <= a.end <= b.start + 1e-6 for a, b in zip(final.words, final.words[1:])), final
        stable: list[str] = []
        for partial in partials:
            assert partial.raw.split()[:len(stable)] == stable, "a stable word changed in a partial"
            assert partial.stable_raw.split()[:len(stable)] == stable and partial.stable_words >= len(stable)
            if partial.stable_grew:
                grown = partial.stable_raw.split()
                delays_s += [positions[id(partial)] - word.end for word in final.words[len(stable):len(grown)]]
                stable = grown
        assert final.raw.split()[:len(stable)] == stable, "the final took back a stable word"
    stable_words, overruled = int(stats["stable_words"]), int(stats["overruled"])
    rate = overruled / stable_words
    final_words = sum(len(f.raw.split()) for f in finals.values())
    delays_s.sort()
    p50, p90 = delays_s[len(delays_s) // 2], delays_s[int(0.9 * (len(delays_s) - 1))]
    print(f"\n{len(finals)} finals, {final_words} words; {stable_words} stable, {overruled} overruled "
          f"({100 * rate:.2f} %); word end -> stable p50 {p50:.2f} s, p90 {p90:.2f} s")
    assert stable_words >= 150, "enough stable words for the rate to mean something"
    assert stats["retractions"] == 0 and stats["retraction_rate"] == 0
    assert overruled > 0, "the engine's final disagreed somewhere: the count is live (7 % measured)"
    assert stats["overruled_rate"] == pytest.approx(rate, abs=1e-5)
    assert rate <= OVERRULED_CEILING
    assert stable_words >= STABLE_SHARE_FLOOR * final_words
    assert p50 <= DELAY_P50_CEILING_S


def test_stable_prefix_grows_stays_and_overrules_the_final() -> None:
    """The rule itself, on word lists as Vosk gives them, each with the audio time it was
    decoded up to (no audio needed for arithmetic): 2 changed partials and 0.48 s in place."""
    prefix = StablePrefix(confirmations=2, min_age_s=0.48)

    def update(text: str, at_s: float) -> tuple[str, int, bool]:
        shown, stable, grew = prefix.update(text.split(), at_s)
        return " ".join(shown), stable, grew

    assert update("가족 이", 1.20) == ("가족 이", 0, False)  # one partial is no evidence
    assert update("가족 이 더", 1.44) == ("가족 이 더", 0, False)  # two, but only 0.24 s old
    assert update("가족 이 더 힘든", 1.68) == ("가족 이 더 힘든", 2, True)
    assert update("가족 이 더 힘든 법", 1.92) == ("가족 이 더 힘든 법", 3, True)  # "더" stood since 1.44
    # The engine changes a stable word: it is shown as it was, and what follows still counts.
    assert update("가족 의 더 힘든 법", 2.16) == ("가족 이 더 힘든 법", 4, True)
    line_up, shown = prefix.close("가족 이 더 힘든 법 이에요".split())
    assert line_up.overruled == 0 and " ".join(shown) == "가족 이 더 힘든 법 이에요"
    assert update("선거", 5.00) == ("선거", 0, False)  # a new utterance starts afresh
    assert update("선거 결과", 5.24) == ("선거 결과", 0, False)
    assert update("선거 결과 영국", 5.48) == ("선거 결과 영국", 1, True)
    line_up, shown = prefix.close("선고 결과".split())
    assert line_up.overruled == 1 and " ".join(shown) == "선거 결과"
    # A stable word the engine replaces by two, before another stable word: it stands for both.
    assert update("촬영 을", 9.00) == ("촬영 을", 0, False)
    assert update("촬영 을 했다", 9.24) == ("촬영 을 했다", 0, False)
    assert update("촬영 을 했다 고", 9.48) == ("촬영 을 했다 고", 2, True)
    line_up, shown = prefix.close("차 렸 을 했다 고 말 했다".split())
    assert line_up.overruled == 1 and " ".join(shown) == "촬영 을 했다 고 말 했다"
    assert line_up.spans == ((0, 2), (2, 3)) and line_up.rest == 3
    # A word the final inserts among the stable ones is dropped: the stable words lead.
    assert update("제가 먼저", 12.0) == ("제가 먼저", 0, False)
    assert update("제가 먼저 갈게요", 12.24) == ("제가 먼저 갈게요", 0, False)
    assert update("제가 먼저 갈게요 네", 12.48) == ("제가 먼저 갈게요 네", 2, True)
    line_up, shown = prefix.close("제가 곧 먼저 갈게요 네".split())
    assert line_up.overruled == 0 and " ".join(shown) == "제가 먼저 갈게요 네"
    assert prefix.stats() == {"stable_words": 9, "retractions": 0, "retraction_rate": 0.0,
                              "overruled": 2, "overruled_rate": 0.22222}


def test_the_final_keeps_the_stable_words_with_times_that_line_up() -> None:
    """Found in review: four words inserted among the stable ones pushed one out of the
    compared window, so it was shown twice and counted overruled; an empty final after
    partials gave the kept words times before the utterance."""
    line_up = continuation("a b c".split(), "a w x y z b c d".split())
    assert line_up.overruled == 0 and line_up.rest == 7
    assert keep_stable("a b c".split(), "a w x y z b c d".split()) == ("a", "b", "c", "d")
    words = tuple(TimedWord(w, i * 0.5, i * 0.5 + 0.4, 0.9) for i, w in enumerate("차 렸 을 했다 고".split()))
    stable = ("촬영", "을")
    line_up = continuation(stable, [w.word for w in words])
    kept = kept_words(stable, line_up, keep_stable(stable, [w.word for w in words]),
                      Hypothesis("차 렸 을 했다 고", words))
    assert kept.text == "촬영 을 했다 고" and [w.word for w in kept.words] == kept.text.split()
    assert kept.words[0] == TimedWord("촬영", 0.0, 0.9, 0.0) and kept.words[1:] == words[2:]
    empty = kept_words(stable, continuation(stable, []), stable, Hypothesis(""))
    assert empty.text == "촬영 을" and empty.words == ()


def test_stable_signal_and_json_partials_on_a_private_bus(bus: dict[str, str], ko_dev: Path,
                                                          tmp_path: Path) -> None:
    clip = tmp_path / "two.wav"
    subprocess.run(["sox", str(ko_dev / "etts_kih00012.wav"), str(ko_dev / "etts_kih00044.wav"), str(clip),
                    "pad", "0", "1.5"], check=True)
    collector = SignalCollector(bus["DBUS_SESSION_BUS_ADDRESS"])
    try:
        daemon = start(["serve", "--stdout", "--json", "--partials", "--fast", "--input", str(clip)], bus)
        out, err = daemon.communicate(timeout=180)
        assert daemon.returncode == 0, err
        printed = [json.loads(line) for line in out.splitlines()]
        finals = [r for r in printed if r["type"] == "final" and r["text"]]
        collector.wait_for("Formatted", len(finals), 30)
    finally:
        collector.close()
    partials = [r for r in printed if r["type"] == "partial"]
    assert partials and all(isinstance(r["stable_words"], int) for r in partials)
    assert any(r["stable_words"] > 0 for r in partials)
    stables = collector.of("Stable")
    assert stables, "Stable fired"
    order = [(name, args[0]) for _, name, args in collector.events if name in ("Partial", "Stable", "Formatted")]
    formatted = {args[0]: args[1] for args in collector.of("Formatted")}
    retracted = stable_total = kept = with_stable = 0
    for final in finals:
        utterance = final["utterance"]
        texts = [args[1] for args in stables if args[0] == utterance]
        if not texts:  # a short sentence can end before any word held long enough
            continue
        with_stable += 1
        assert formatted[utterance] == final["text"]
        # The final's words begin with the stable ones (in the recognizer's words, as JSON
        # gives them); displayed, only formatting across the prefix's edge could differ.
        last = [r for r in partials if r["utterance"] == utterance][-1]
        stable_raw = last.get("raw", last["text"]).split()[:last["stable_words"]]
        assert final.get("raw", final["text"]).split()[:len(stable_raw)] == stable_raw, (last, final)
        retracted += retracted_words(texts[-1], final["text"])
        stable_total += len(texts[-1].split())
        kept += final["text"].startswith(texts[-1])
        first_stable = order.index(("Stable", utterance))
        assert order[first_stable - 1] == ("Partial", utterance), "Stable follows its Partial"
        assert order.index(("Formatted", utterance)) > first_stable
    assert with_stable >= len(finals) / 2, f"{with_stable} of {len(finals)} finals had stable words first"
    assert kept >= 1 and retracted <= max(1, stable_total // 20), (retracted, stable_total)
    grew = [r["stable_words"] for r in partials]
    assert len(stables) <= sum(1 for a, b in zip([0, *grew], grew) if b > a) + len(finals)
