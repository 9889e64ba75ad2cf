"""The latency monitor, the overload ladder and the recycling rule, driven by injected time and memory."""

from __future__ import annotations

from stt_daemon.events import Final, Word
from stt_daemon.pipeline.latency import LatencyMonitor
from stt_daemon.pipeline.overload import Level, OverloadLadder
from stt_daemon.pipeline.perceived import PerceivedLatency
from stt_daemon.pipeline.recycle import PLATEAU_AUDIO_S, RecyclePolicy, Recycling

MS = 1_000_000


def test_percentiles_stages_and_budget_counts_over_a_rolling_window() -> None:
    monitor = LatencyMonitor(budget_ms=50, window_s=2.0, block_ms=20)  # a window of 100 blocks
    t = 0
    for i in range(100):  # totals 1..100 ms: queue 1 ms, recognizer the rest, publish 0
        total = (i + 1) * MS
        assert monitor.record(t, t + MS, t + total, t + total) == total
        t += 20 * MS
    s = monitor.summary()
    assert (s.blocks, s.window_blocks) == (100, 100)
    assert 50 <= s.p50_ms <= 51 and 95 <= s.p95_ms <= 96 and 99 <= s.p99_ms <= 100
    assert s.max_ms == 100 and s.over_budget == 50 and s.over_budget_window == 50
    assert s.queue_p99_ms == 1.0 and s.publish_p99_ms == 0.0
    for _ in range(100):  # the window rolls: a calm second replaces the busy one
        monitor.record(t, t, t + 2 * MS, t + 2 * MS)
        t += 20 * MS
    s = monitor.summary()
    assert s.p99_ms == 2.0 and s.max_ms == 2.0 and s.over_budget_window == 0
    assert s.over_budget == 50 and s.blocks == 200  # since start


def test_ladder_steps_up_warns_at_a_limited_rate_and_steps_back_down() -> None:
    now = [0]
    ladder = OverloadLadder(budget_ms=50, escalate_after=(1, 5, 25), recover_after=50,
                            warn_interval_s=10, clock=lambda: now[0])
    seen = [ladder.update(80 * MS, queue_depth=3) for _ in range(30)]
    assert seen[0] == Level.FEWER_PARTIALS
    assert seen[4] == Level.CATCH_UP
    assert seen[24] == Level.WARN
    assert ladder.should_warn() and not ladder.should_warn()  # once, then rate-limited
    now[0] += 11_000 * MS
    assert ladder.should_warn()
    # A backlog keeps it up even when blocks meet the budget.
    for _ in range(100):
        ladder.update(10 * MS, queue_depth=5)
    assert ladder.level == Level.WARN
    levels = [ladder.update(10 * MS, queue_depth=0) for _ in range(150)]
    assert levels[49] == Level.CATCH_UP and levels[99] == Level.FEWER_PARTIALS
    assert levels[149] == Level.NORMAL
    assert not ladder.should_warn()
    assert not ladder.should_warn(urgent=True)  # new drops warn even at level 0, but rate-limited
    now[0] += 11_000 * MS
    assert ladder.should_warn(urgent=True)
    assert ladder.max_level == Level.WARN


def test_a_single_late_block_only_thins_partials() -> None:
    ladder = OverloadLadder(budget_ms=50)
    assert ladder.update(60 * MS, 0) == Level.FEWER_PARTIALS
    assert [ladder.update(1 * MS, 0) for _ in range(50)] == [Level.FEWER_PARTIALS] * 49 + [Level.NORMAL]


def test_recycling_counts_growth_from_the_plateau_after_ten_minutes_of_audio() -> None:
    """RSS is injected: growing the process by hundreds of MB on cue cannot be done for real."""
    rss = [600.0]
    recycling = Recycling(RecyclePolicy(max_growth_mb=250, max_audio_s=4 * 3600), rss=lambda: rss[0])
    rss[0] = 900.0  # Vosk's first minutes: fast growth, which is no reason to recycle
    assert not recycling.due(session_audio_s=300)
    assert not recycling.due(session_audio_s=PLATEAU_AUDIO_S)  # the plateau: 900 MB is the baseline
    rss[0] = 1100.0
    assert not recycling.due(session_audio_s=2000)
    rss[0] = 1150.0
    assert recycling.due(session_audio_s=2100)
    generation = recycling.next_generation()
    assert not recycling.due(session_audio_s=2200), "one build at a time"
    assert recycling.arrived(None, generation) is False  # a failed build: nothing to swap
    fresh = Recycling(RecyclePolicy(max_growth_mb=250, max_audio_s=3600), rss=lambda: 600.0)
    assert fresh.due(session_audio_s=3600), "and after hours of audio, whatever the memory"


def test_a_word_counts_as_shown_from_the_first_partial_that_held_it_until_the_final() -> None:
    perceived = PerceivedLatency()
    base = 10_000 * MS
    for i in range(1, 101):  # 2 s of audio, 20 ms blocks, each delivered as its last sample was spoken
        perceived.block(i * 0.02, base + i * 20 * MS)
    perceived.partial(("욕조",), base + 700 * MS)
    perceived.partial(("욕조", "에"), base + 900 * MS)
    perceived.partial(("욕조", "애"), base + 1100 * MS)  # the second word changes...
    perceived.partial(("욕조", "에", "물"), base + 1300 * MS)  # ...and comes back: shown from here
    final = Final(1, "욕조 에 물을", "욕조 에 물을", 0.2, 1.5,
                  (Word("욕조", 0.2, 0.6, 1.0), Word("에", 0.6, 0.8, 1.0), Word("물을", 0.9, 1.5, 1.0)), 0)
    perceived.final(final, base + 1800 * MS)
    figures = perceived.summary()
    # 700 - 600; 1300 - 800 (its last change); 1800 - 1500 (first shown in the final)
    assert sorted(round(v, 3) for v in perceived.words._values) == [100.0, 300.0, 500.0]
    assert figures["end_of_speech"].p50_ms == 300.0  # shown at 1.8 s, spoken until 1.5 s
    assert figures["onset"].p50_ms == 500.0  # the first partial at 0.7 s; speech began at 0.2 s
    assert figures["word"].n == 3


def test_a_reset_utterance_leaves_no_history_behind() -> None:
    perceived = PerceivedLatency()
    perceived.block(1.0, 5_000 * MS)
    perceived.partial(("가",), 4_000 * MS)
    perceived.forget_utterance()
    perceived.final(Final(2, "나", "나", 0.5, 0.9, (Word("나", 0.5, 0.9, 1.0),), 0), 6_000 * MS)
    assert perceived.summary()["onset"].n == 0, "no partial of this utterance was shown"
    assert [round(v, 3) for v in perceived.words._values] == [1_100.0]


def test_events_have_their_own_ring_that_keeps_the_last_2048() -> None:
    monitor = LatencyMonitor(budget_ms=50, window_s=1.0, block_ms=20)
    assert monitor.event_summary().n == 0
    for i in range(3000):  # the first 952 (1..952 ms) fall out of the ring
        monitor.record_event(0, (i + 1) * 1_000_000)
    summary = monitor.event_summary()
    assert summary.n == 2048
    assert summary.max_ms == 3000.0 and min(monitor.event_samples_ms()) == 953.0
    assert 953.0 < summary.p50_ms < summary.p90_ms < summary.p99_ms < 3000.0
    assert monitor.blocks == 0  # events are not blocks


def test_one_block_of_digital_silence_does_not_pin_the_energy_floor() -> None:
    """A floor of zero never rose again, so every later sound was speech (the gate stayed
    open in any noise after the virtual microphone's leading zeros)."""
    import numpy as np

    from stt_daemon.audio.vad import VoiceActivity

    vad = VoiceActivity(20)
    assert vad.update(bytes(640)) is False
    rng = np.random.default_rng(7)
    blocks = [(rng.normal(0, 40, 320)).astype("<i2").tobytes() for _ in range(3000)]  # 60 s of hiss
    flagged = [vad.update(b) for b in blocks]
    assert not any(flagged[-500:]), "steady hiss is still speech after a minute"
