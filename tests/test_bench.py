"""The benchmark suite runs end to end in its smoke mode and prints one valid JSON document.

Speed is measured by scripts/bench, not asserted here: this only checks that every
section runs on both sides and reports its figures, so the benchmark cannot rot unnoticed.
"""

from __future__ import annotations

import json
import subprocess

from tests.conftest import ROOT


def test_bench_smoke_prints_valid_json_with_every_figure(clean_env: dict[str, str]) -> None:
    done = subprocess.run([str(ROOT / "scripts" / "bench"), "--smoke"], capture_output=True, text=True,
                          timeout=1200, cwd=ROOT, env=clean_env)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    rt = report["realtime"]
    for section in ("file_paced", "virtual_mic"):
        pair = rt[section]
        assert pair["daemon_ms"]["n"] > 0 and pair["bare_ms"]["n"] > 0, pair
        # Both sides heard the same audio: decoded plus gated blocks on one, decoded on the other.
        assert abs(pair["daemon_ms"]["n"] + pair["daemon_gated_blocks"] - pair["bare_ms"]["n"]) <= 15, pair
        assert pair["ratio_p99"] is not None and pair["ratio_p99"] > 0
    assert rt["file_paced"]["daemon_without_warmup_ms"]["n"] > 0
    idle = rt["idle"]["silence"]
    assert 0 < idle["daemon_cpu_percent_of_a_core"] < 100 and 0 < idle["bare_cpu_percent_of_a_core"] < 100
    rtf = report["cpu"]["real_time_factor"]
    assert 0 < rtf["bare_rtf"] < 2 and 0 < rtf["daemon_rtf"] < 2 and rtf["ratio"] > 0
    assert report["cpu"]["decode_chunk"]["240ms"]["call_ms"]["n"] > 0
    heavy = report["cpu"]["first_heavy_call"]
    assert heavy["cold_max_ms"] > 0 and heavy["warmed_max_ms"] > 0
    ep = report["endpointing"]["default"]
    for side in ("daemon", "bare"):
        measured = ep[side]["end_of_speech_to_final_ms"]["n"] + ep[side]["no_final_before_file_end"]
        assert measured == report["endpointing"]["clips"], "every clip is counted, with a final or without"
    start = report["startup"]
    assert start["peak_rss_mb"]["daemon"] > 100 and start["ready_s"]["ratio"] > 0
    assert start["stop"]["final_flushed"] == start["stop"]["runs"]
    for case in ("one_subscriber", "many_subscribers"):
        dbus = report["dbus"][case]
        assert dbus["signals"] > 0
        assert dbus["received_per_subscriber"] == [dbus["signals"]] * dbus["subscribers"]
        assert dbus["delivery_ms"]["n"] == dbus["signals"] * dbus["subscribers"]
    words = report["words"]
    for side in ("bare", "default"):
        assert words[side]["word_emission_ms"]["n"] > 0, words[side]
        assert words[side]["end_of_speech_to_final_ms"]["n"] + words[side]["clips_without_final"] == words["clips"]
        assert words[side]["clips_bit_exact"] == words["clips"], "the virtual microphone changed the audio"
    assert words["default"]["ratio_p50"]["word_emission_ms"] is not None
    lag = report["floor"]["chunks"]["120ms"]
    assert lag["word_lag_ms"]["n"] > 0 and lag["end_of_speech_to_final_ms"]["n"] > 0, lag
    flood = report["flood"]
    for condition in ("alone", "hog"):
        row = flood["default"][condition]
        assert 0 < row["event_p50"] <= row["event_p99"] <= row["event_max"], row
    assert flood["bare_alone_event_ms"]["n"] > 0 and flood["bare_hog_event_ms"]["n"] > 0
    assert 0 < rt["capture_floor"]["silence"]["capture_only_cpu_percent_of_a_core"] < 100
    for side in ("daemon_silero", "daemon_energy", "bare"):
        heard = report["noise"]["snr_10dB"][side]
        assert heard["rtf"] > 0 and 0 <= heard["all"]["cer"] <= 2, heard
    found = report["detectors"]
    assert "energy" in found["detectors"] and "silero_daemon" in found["detectors"]
    for name in found["detectors"]:
        assert 0 <= found["results"][name]["snr_10dB"]["recall"] <= 1
