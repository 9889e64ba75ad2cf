"""The systemd user service: unit file, install-service, and sd_notify on a real socket."""

from __future__ import annotations

import re
import signal
import stat
import subprocess
import time
from pathlib import Path


from stt_daemon.asr.base import Transcriber
from stt_daemon.audio.wavfile import WavSource
from stt_daemon.control.controller import Controller
from stt_daemon.output.publish import Publisher
from stt_daemon.service.sdnotify import Notifier, Watchdog
from stt_daemon.settings import Settings
from tests.conftest import CLI, ROOT, run_cli
from tests.pipeline_helpers import Stall, WrappingTranscriber
from tests.dbus_helpers import name_has_owner, private_bus
from tests.notify_helpers import NotifySocket


def test_installed_unit_passes_systemd_analyze_verify(clean_env: dict[str, str]) -> None:
    done = run_cli(["install-service"], clean_env)
    assert done.returncode == 0, done.stderr
    unit = Path(clean_env["XDG_CONFIG_HOME"]) / "systemd" / "user" / "stt-daemon.service"
    text = unit.read_text()
    exec_start = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    assert Path(exec_start.split("=", 1)[1].split()[0]).is_absolute() and exec_start.endswith(" serve")
    assert "Type=notify" in text and "WatchdogSec=" in text and "WantedBy=default.target" in text
    verify = subprocess.run(["systemd-analyze", "verify", "--user", "--man=no", str(unit)],
                            env=clean_env, capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0 and verify.stderr == "", verify.stderr
    activation = Path(clean_env["XDG_DATA_HOME"]) / "dbus-1" / "services" / "org.sttdaemon.SttDaemon.service"
    assert "SystemdService=stt-daemon-activated.service" in activation.read_text()
    activated = unit.with_name("stt-daemon-activated.service")
    assert "--start-paused" in activated.read_text() and "[Install]" not in activated.read_text()
    verify = subprocess.run(["systemd-analyze", "verify", "--user", "--man=no", str(activated)],
                            env=clean_env, capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0 and verify.stderr == "", verify.stderr
    assert "systemctl --user" in done.stdout
    for path in (unit, activated):
        assert _exposure(path, clean_env) <= 3.5, f"{path.name} is sandboxed"
    removed = run_cli(["uninstall-service"], clean_env)
    assert removed.returncode == 0 and not unit.exists() and not activation.exists()


def _exposure(unit: Path, env: dict[str, str]) -> float:
    """systemd's own rating of the unit's sandbox (0 safe .. 10 exposed), read offline."""
    Path(env["XDG_RUNTIME_DIR"]).mkdir(mode=0o700, parents=True, exist_ok=True)
    rated = subprocess.run(["systemd-analyze", "security", "--user", "--offline=true", "--no-pager", str(unit)],
                           env=env, capture_output=True, text=True, timeout=60)
    found = re.search(r"Overall exposure level for \S+: ([\d.]+)", rated.stdout)
    assert found, rated.stdout[-500:] + rated.stderr
    print(f"\n{unit.name}: exposure {found.group(1)}")
    return float(found.group(1))


def test_dictate_unit_installs_verifies_and_belongs_to_the_graphical_session(clean_env: dict[str, str]) -> None:
    done = run_cli(["install-service", "--dictate"], clean_env)
    assert done.returncode == 0, done.stderr
    unit = Path(clean_env["XDG_CONFIG_HOME"]) / "systemd" / "user" / "stt-daemon-dictate.service"
    text = unit.read_text()
    exec_start = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    assert Path(exec_start.split("=", 1)[1].split()[0]).is_absolute() and exec_start.endswith(" dictate")
    assert "WantedBy=graphical-session.target" in text and "RestrictAddressFamilies=AF_UNIX\n" in text
    verify = subprocess.run(["systemd-analyze", "verify", "--user", "--man=no", str(unit)],
                            env=clean_env, capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0 and verify.stderr == "", verify.stderr
    assert "enable --now stt-daemon stt-daemon-dictate" in done.stdout
    assert run_cli(["uninstall-service"], clean_env).returncode == 0 and not unit.exists()


def test_install_respects_umask_and_never_writes_through_a_symlink(clean_env: dict[str, str],
                                                                   tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    unit = Path(clean_env["XDG_CONFIG_HOME"]) / "systemd" / "user" / "stt-daemon.service"
    unit.parent.mkdir(parents=True)
    unit.symlink_to(outside)
    done = subprocess.run(["sh", "-c", 'umask 077 && exec "$@"', "sh", *CLI, "install-service"],
                          env=clean_env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert outside.read_text() == "keep me"
    assert not unit.is_symlink() and stat.S_IMODE(unit.stat().st_mode) == 0o600


def test_sd_notify_ready_after_the_bus_name_watchdog_and_stopping(
        notify_socket: NotifySocket, clean_env: dict[str, str], ko_dev: Path, tmp_path: Path) -> None:
    with private_bus(tmp_path) as (address, _):
        owned_at_ready: list[bool] = []
        notify_socket.on_message = lambda line: owned_at_ready.append(name_has_owner(address)) \
            if line == "READY=1" else None
        env = {**clean_env, "DBUS_SESSION_BUS_ADDRESS": address, "NOTIFY_SOCKET": str(notify_socket.path),
               "WATCHDOG_USEC": "400000"}
        proc = subprocess.Popen([*CLI, "serve", "--input", str(ko_dev / "etts_adc00001.wav")], env=env,
                                cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            notify_socket.wait_for("READY=1", 120)
            notify_socket.wait_for_count("WATCHDOG=1", 4, 30)  # every 0.2 s while the worker moves
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=10)
        finally:
            proc.kill()
    assert proc.returncode == 0, err
    assert owned_at_ready == [True], "READY=1 only once the bus name is owned"
    statuses = notify_socket.lines("STATUS=")
    assert statuses[0].startswith("STATUS=loading model") and any("listening to" in s for s in statuses)
    assert notify_socket.lines("STOPPING=1")
    order = [m for _, m in notify_socket.messages if m in ("READY=1", "STOPPING=1")]
    assert order == ["READY=1", "STOPPING=1"]


def test_watchdog_pings_stop_when_the_worker_hangs(notify_socket: NotifySocket, transcriber: Transcriber,
                                                   ko_dev: Path) -> None:
    backend = Stall()
    stalling = WrappingTranscriber(transcriber, backend.wrap)
    source = WavSource.open(ko_dev / "etts_adc00001.wav", realtime=True)
    controller = Controller(source, stalling, Publisher(), Settings(warmup=False))
    source.start()
    notifier = Notifier({"NOTIFY_SOCKET": str(notify_socket.path), "WATCHDOG_USEC": "200000"})
    watchdog = Watchdog(notifier, controller.healthy, notifier.watchdog_interval_s or 0)
    controller.start()
    watchdog.start()
    try:
        notify_socket.wait_for_count("WATCHDOG=1", 5, 30)
        backend.stalled.set()
        deadline = time.monotonic() + 60
        while watchdog.missed == 0:  # healthy() gives up after 2 s without progress
            assert time.monotonic() < deadline
            time.sleep(0.02)
        stuck_at = len(notify_socket.lines("WATCHDOG=1"))
        time.sleep(1.5)  # still stuck: the stall lasts until the test releases it
        assert len(notify_socket.lines("WATCHDOG=1")) == stuck_at, "no pings while the worker hangs"
        assert watchdog.missed >= 5
    finally:
        backend.released.set()
        watchdog.stop()
        controller.stop()
        notifier.close()

