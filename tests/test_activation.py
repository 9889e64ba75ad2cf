"""D-Bus activation never opens the microphone by itself.

With the activation file installed, any message to the bus name starts the daemon, even a
mere introspection (`busctl tree`). It comes up paused: the model is loaded, the
microphone stays closed until Resume. The clients behave the same with or without a
running daemon: they call, and the bus starts one when it can.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from devkit.servers import private_bus, source_outputs
from tests.conftest import play, run_cli
from tests.dbus_helpers import BUS_NAME, SignalCollector, wait_for_name


def _daemon_pid(address: str) -> int:
    out = subprocess.run(["gdbus", "call", "--address", address, "--dest", "org.freedesktop.DBus",
                          "--object-path", "/org/freedesktop/DBus", "--method",
                          "org.freedesktop.DBus.GetConnectionUnixProcessID", BUS_NAME],
                         capture_output=True, text=True, timeout=10, check=True)
    return int(out.stdout.strip().strip("(),").split()[-1])


def test_activation_starts_the_daemon_paused_and_the_microphone_stays_closed(
        clean_env: dict[str, str], virtual_mic: dict[str, str], tmp_path: Path, ko_dev: Path) -> None:
    assert run_cli(["install-service"], clean_env).returncode == 0  # writes the activation file
    bus_env = {**clean_env, **virtual_mic}  # what an activated daemon inherits from the bus
    with private_bus(tmp_path, bus_env) as (address, _):
        env = {**bus_env, "DBUS_SESSION_BUS_ADDRESS": address}
        baseline = source_outputs(virtual_mic)
        collector = SignalCollector(address)
        # Any call activates it; busctl's --timeout holds for `call` only (`tree` gave up after sd-bus's
        # 25 s while a loaded CI machine was still loading the model and warming up).
        introspect = subprocess.run(["busctl", f"--address={address}", "--timeout=120", "call", BUS_NAME,
                                     "/org/sttdaemon/SttDaemon", "org.freedesktop.DBus.Introspectable", "Introspect"],
                                    capture_output=True, text=True, timeout=180)
        assert introspect.returncode == 0 and "org.sttdaemon.SttDaemon1" in introspect.stdout, introspect.stderr
        wait_for_name(address, timeout_s=180)
        pid = _daemon_pid(address)
        try:
            status = run_cli(["status", "--json"], env)
            assert status.returncode == 0, status.stderr
            assert json.loads(status.stdout)["state"] == "paused"
            time.sleep(1.0)  # it stays closed: nothing opens it behind the user's back
            assert source_outputs(virtual_mic) == baseline, "activation did not open the microphone"
            resumed = run_cli(["resume"], env)
            assert resumed.returncode == 0, resumed.stderr
            assert json.loads(run_cli(["status", "--json"], env).stdout)["state"] == "listening"
            assert source_outputs(virtual_mic) == baseline + 1
            play(ko_dev / "etts_kih00012.wav", virtual_mic)
            assert collector.wait_for("Final", 1, 30)[0][1]
        finally:
            collector.close()
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
                time.sleep(0.05)
        assert not Path(f"/proc/{pid}").exists(), "the activated daemon stopped on SIGTERM"


def test_clients_without_any_daemon_all_say_so_the_same_way(clean_env: dict[str, str], tmp_path: Path) -> None:
    """No activation file and no daemon: every client, the same line, the same code."""
    with private_bus(tmp_path, clean_env) as (address, _):
        env = {**clean_env, "DBUS_SESSION_BUS_ADDRESS": address}
        errors = {run_cli([command], env).stderr.strip() for command in ("status", "pause", "resume", "finalize")}
    assert len(errors) == 1 and "no stt-daemon is running on the session bus" in errors.pop()
