"""The benchmark suite runs end to end in its smoke mode and prints one valid JSON document.

Speed is measured by scripts/bench, not asserted here: this only checks that every
section runs and reports its figures, so the benchmark cannot rot unnoticed.
"""

from __future__ import annotations

import json
import subprocess

from tests.conftest import ROOT


def test_bench_smoke_prints_valid_json_with_every_figure(clean_env: dict[str, str]) -> None:
    done = subprocess.run([str(ROOT / "scripts" / "bench"), "--smoke"], capture_output=True, text=True,
                          timeout=600, cwd=ROOT, env=clean_env)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    rt = report["realtime"]
    for section in ("latency_file_paced", "latency_virtual_mic"):
        assert rt[section]["daemon_ms"]["n"] > 0 and rt[section]["bare_ms"]["n"] > 0
        assert rt[section]["ratio_p99"] is not None
    assert rt["latency_file_paced"]["daemon_without_warmup_ms"]["n"] > 0
    assert rt["latency_virtual_mic"]["idle"]["cpu_percent_of_a_core"] >= 0
    assert rt["cpu_real_time_factor"]["ratio"] > 0
    for setting in ("default", "endpoint_silence_200ms"):
        assert rt["endpointing"][setting]["end_of_speech_to_final_ms"]["n"] > 0
        assert rt["endpointing"][setting]["onset_to_first_partial_ms"]["n"] > 0
    assert rt["startup"]["peak_rss_mb"]["daemon"] > 100 and rt["startup"]["ready_s"]["ratio"] > 0
    for case in ("one_subscriber", "ten_subscribers"):
        dbus = report["dbus"][case]
        assert dbus["delivery_ms"]["n"] == dbus["signals"] * dbus["subscribers"]
