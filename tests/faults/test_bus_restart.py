"""Fault: the session bus dies and a new one starts at the same address."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from devkit.servers import start_bus
from devkit.textmetrics import corpus_cer
from tests.conftest import CLI, ROOT, run_cli, wait_for_line
from tests.dbus_helpers import SignalCollector, wait_for_name
from tests.pipeline_helpers import concat


# The README's bound: retried every second, so back within a few seconds of the new bus.
REPUBLISH_BOUND_S = 5.0


def test_stdout_never_stops_and_dbus_publishing_resumes_on_the_new_bus(
        ko_dev: Path, tmp_path: Path, clean_env: dict[str, str]) -> None:
    audio = concat([ko_dev / "etts_adc00001.wav", ko_dev / "etts_kih00012.wav", ko_dev / "etts_kih00023.wav"],
                   tmp_path / "three.wav", 1.5)
    undisturbed = run_cli(["listen", "--no-dbus", "--fast", "--json", "--input", str(audio)], clean_env)
    assert undisturbed.returncode == 0, undisturbed.stderr
    reference = [r["text"] for r in map(json.loads, undisturbed.stdout.splitlines())]
    address, first_pid = start_bus(tmp_path)
    env = {**clean_env, "DBUS_SESSION_BUS_ADDRESS": address}
    daemon = subprocess.Popen([*CLI, "serve", "--stdout", "--json", "--partials", "--input", str(audio)],
                              env=env, cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    second_pid = None
    try:
        assert daemon.stdout is not None
        wait_for_name(address, proc=daemon)
        wait_for_line(daemon.stdout, '"partial"', 30)
        os.kill(first_pid, signal.SIGKILL)  # the bus dies mid-utterance
        time.sleep(0.5)
        _, second_pid = start_bus(tmp_path)
        restarted = time.monotonic()
        collector = SignalCollector(address)
        wait_for_name(address, timeout_s=REPUBLISH_BOUND_S, proc=daemon)
        print(f"\nback on the new bus after {time.monotonic() - restarted:.2f} s")
        rest, err = daemon.communicate(timeout=90)
        collector.close()
    finally:
        daemon.kill()
        if second_pid:
            os.kill(second_pid, signal.SIGTERM)
    assert daemon.returncode == 0, err
    printed = [r for r in map(json.loads, rest.splitlines()) if r["type"] == "final"]
    assert [r["utterance"] for r in printed] == list(range(1, len(printed) + 1)), "no utterance is missing"
    heard = " ".join(r["text"] for r in printed)
    assert corpus_cer([(" ".join(reference), heard)]) <= 0.05, \
        "stdout carried every utterance, the one cut by the outage included"
    on_new_bus = [(f[0], f[1]) for f in collector.of("Formatted")]  # the text stdout prints
    assert on_new_bus and on_new_bus == [(r["utterance"], r["text"]) for r in printed][-len(on_new_bus):]
    assert "back on the session bus" in err and "Traceback" not in err
