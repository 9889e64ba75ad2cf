"""Soak, short: fifteen minutes of looped speech flat out (about a minute of wall time):
ten to warm up (Vosk's feature-pipeline cycle) and five to watch. The hour-long run is
`scripts/soak`; both use the same code."""

from __future__ import annotations

from stt_daemon.asr.base import Transcriber

from scripts.benchmarks.soak import run


def test_fifteen_minutes_of_speech_leak_nothing(transcriber: Transcriber) -> None:
    report = run(15, transcriber)
    print(f"\nsoak: {report}")
    assert report["finals"] == report["utterances"], "one final per utterance, none lost"
    assert report["rss_growth_percent"] < 5.0
    assert report["fds"][1] <= report["fds"][0], "no file descriptor leaked"
    assert report["threads"][1] <= report["threads"][0], "no thread leaked"
