"""The commands a hotkey binds, on a real virtual microphone and a private bus: `toggle`, and
push-to-talk's `hold` and `release`. The microphone is open only between them."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from devkit.servers import source_outputs
from devkit.textmetrics import corpus_cer
from tests.conftest import ko_transcripts, run_cli
from tests.dbus_helpers import IFACE, PATH, BUS_NAME, SignalCollector, start, stop, wait_for_name

CLIP = "etts_kih00012.wav"


def _state_becomes(collector: SignalCollector, state: str) -> None:
    collector.wait_until("PropertiesChanged", lambda got: any(c.get("State") == state for _, c, _ in got))


def test_toggle_opens_and_closes_the_microphone(bus: dict[str, str], virtual_mic: dict[str, str]) -> None:
    env = {**bus, **virtual_mic}
    address = bus["DBUS_SESSION_BUS_ADDRESS"]
    baseline = source_outputs(virtual_mic)
    daemon = start(["serve", "--device", "pulse", "--start-paused"], env)
    try:
        wait_for_name(address, proc=daemon)
        assert source_outputs(virtual_mic) == baseline, "paused at start: the microphone is closed"
        on = run_cli(["toggle"], env)
        assert on.returncode == 0 and on.stdout.strip() == "listening", on.stderr
        assert source_outputs(virtual_mic) == baseline + 1
        off = run_cli(["toggle"], env)
        assert off.returncode == 0 and off.stdout.strip() == "paused", off.stderr
        assert source_outputs(virtual_mic) == baseline, "toggled off: closed again"
    finally:
        _, err = stop(daemon)
    assert "Traceback" not in err


def test_hold_then_release_gives_the_final_at_once_and_closes_the_microphone(
        bus: dict[str, str], virtual_mic: dict[str, str], ko_dev: Path) -> None:
    env = {**bus, **virtual_mic}
    address = bus["DBUS_SESSION_BUS_ADDRESS"]
    baseline = source_outputs(virtual_mic)
    collector = SignalCollector(address)
    daemon = start(["serve", "--device", "pulse", "--start-paused"], env)
    try:
        wait_for_name(address, proc=daemon)
        held = run_cli(["hold"], env)
        assert held.returncode == 0, held.stderr
        _state_becomes(collector, "listening")
        assert source_outputs(virtual_mic) == baseline + 1, "held: the microphone is open"
        subprocess.run(["paplay", "--device=vmic_out", str(ko_dev / CLIP)], env={**env}, check=True, timeout=60)
        # The key comes up as the speech ends: before Vosk's own endpoint, so Release makes the final.
        release = subprocess.run(["gdbus", "call", "--address", address, "--dest", BUS_NAME, "--object-path",
                                  PATH, "--method", f"{IFACE}.Release"], capture_output=True, text=True, timeout=30)
        released = time.monotonic()
        assert release.returncode == 0, release.stderr
        _state_becomes(collector, "paused")
        finals = collector.of("Final")
        print(f"\nrelease -> final {1000 * (collector.events[-1][0] - released):.0f} ms (state change last)")
        assert source_outputs(virtual_mic) == baseline, "released: the microphone is closed"
    finally:
        _, err = stop(daemon)
        collector.close()
    assert "Traceback" not in err
    order = [name if name == "Final" else args[1].get("State")
             for _, name, args in collector.events if name in ("Final", "PropertiesChanged")]
    assert order.index("paused") > max(i for i, name in enumerate(order) if name == "Final"), \
        "every final comes before the state says paused"
    heard = " ".join(str(f[1]) for f in finals if f[1])
    assert corpus_cer([(ko_transcripts()[CLIP], heard)]) <= 0.35, heard
