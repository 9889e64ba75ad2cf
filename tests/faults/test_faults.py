"""The fault matrix: each test makes a fault for real where it can and states what survives."""

from __future__ import annotations

import json
import logging
import shutil
import signal
import struct
import subprocess
import tempfile
import time
from pathlib import Path
from collections.abc import Callable
from typing import Any

import pytest

from devkit.procs import run_measuring_peak_rss
from stt_daemon.asr.base import Transcriber
from stt_daemon.audio.wavfile import WavSource
from stt_daemon.control.controller import Controller
from stt_daemon.output.publish import Publisher
from stt_daemon.service.sdnotify import Notifier, Watchdog
from stt_daemon.settings import Settings
from tests.conftest import CLI, ROOT, run_cli, wait_for_line
from tests.dbus_helpers import IFACE, SignalCollector, dbus_send, private_bus, wait_for_name
from tests.notify_helpers import NotifySocket
from tests.pipeline_helpers import Collect, Stall, WrappingTranscriber, concat

LONG = "etts_adc00001.wav"
STOP_BOUND_S = 5.0  # as in test_listen: a hang guard; the bench measures the real figure


def test_stalled_recognizer_bounded_queue_counted_drops_watchdog_silent_no_deadlock(
        transcriber: Transcriber, ko_dev: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Each phase waits for what it needs (a ping, the worker counted as stuck, a drop), so
    the test does not depend on how fast the machine is."""
    clip = concat([ko_dev / LONG], tmp_path / "long.wav", 2.0)
    backend = Stall()
    stalling = WrappingTranscriber(transcriber, backend.wrap)
    sink = Collect()
    source = WavSource.open(clip, realtime=True, queue_ms=1000)
    controller = Controller(source, stalling, Publisher([sink]), Settings(warmup=False))
    sink.controller = controller
    source.start()
    import socket

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.settimeout(0.05)
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "200000"})
    watchdog = Watchdog(notifier, controller.healthy, 0.2)
    caplog.set_level(logging.WARNING)
    controller.start()
    watchdog.start()

    def pings(seconds: float) -> int:
        n, end = 0, time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                n += sock.recv(100) == b"WATCHDOG=1"
            except socket.timeout:
                pass
        return n

    def until(condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + 60
        while not condition():
            assert time.monotonic() < deadline, f"not {what} within 60 s: {controller.stats()}"
            time.sleep(0.02)

    try:
        until(lambda: pings(0.1) > 0, "pinging")
        backend.stalled.set()  # stuck for as long as the test wants: longer than the 1 s queue
        until(lambda: watchdog.missed > 0, "counted as stuck")
        until(lambda: source.stats().drops > 0, "dropping")
        pings(0.1)  # drain what was sent before the worker counted as stuck
        assert pings(1.0) == 0, "the watchdog stays quiet while the worker is stuck"
        backend.stalled.clear()
        backend.released.set()
        until(lambda: pings(0.1) > 0, "pinging again once it moves")
        until(lambda: not controller.running(), "at the end of the file")
    finally:
        backend.released.set()
        watchdog.stop()
        controller.stop()
        notifier.close()
        sock.close()
    stats = controller.stats()
    produced = -(-((clip.stat().st_size - 44) // 2) // 320)  # 20 ms blocks the reader produced
    assert stats["drops"] > 0, "audio beyond the queue was dropped"
    assert stats["blocks"] + stats["drops"] == produced, "every block was decoded or counted as dropped"
    assert any("dropped" in r.getMessage() for r in caplog.records), "and the drops were reported"
    assert sink.finals() and sink.finals()[-1].text, "it carried on to a final: no deadlock"


def test_sigterm_mid_utterance_flushes_to_stdout_and_dbus_and_a_second_signal_is_immediate(
        ko_dev: Path, clean_env: dict[str, str], tmp_path: Path) -> None:
    with private_bus(tmp_path) as (address, _):
        env = {**clean_env, "DBUS_SESSION_BUS_ADDRESS": address}
        collector = SignalCollector(address)
        proc = subprocess.Popen([*CLI, "serve", "--stdout", "--json", "--partials", "--input",
                                 str(ko_dev / LONG)], env=env, cwd=ROOT, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None
        first = json.loads(wait_for_line(proc.stdout, '"partial"', 60))
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        elapsed = time.monotonic() - sent
        collector.wait_for("Final", 1, 10)
        collector.close()
        assert proc.returncode == 0 and elapsed < STOP_BOUND_S, (elapsed, err)
        final = [json.loads(line) for line in out.splitlines() if '"final"' in line]
        assert final and final[0]["utterance"] == first["utterance"] and final[0]["text"]
        assert [(f[0], f[1]) for f in collector.of("Final")] == [(final[0]["utterance"], final[0]["text"])]

        twice = subprocess.Popen([*CLI, "serve", "--input", str(ko_dev / LONG)], env=env, cwd=ROOT,
                                 text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        wait_for_name(address, proc=twice)
        # Two of the same signal pending at once are one to Python; two kinds are two.
        twice.send_signal(signal.SIGINT)
        twice.send_signal(signal.SIGTERM)
        twice.communicate(timeout=30)
        # 128 + signal: the second one left from its handler at once, skipping the clean stop.
        assert twice.returncode in (128 + signal.SIGINT, 128 + signal.SIGTERM), twice.returncode


def test_bad_model_inputs_are_one_line_errors(model_dir: Path, tmp_path: Path, clean_env: dict[str, str],
                                              ko_dev: Path) -> None:
    def linked_copy(name: str) -> Path:
        copy = tmp_path / name
        copy.mkdir()
        for item in model_dir.iterdir():
            (copy / item.name).symlink_to(item)
        return copy

    narrow = linked_copy("narrowband")
    (narrow / "conf").unlink()
    (narrow / "conf").mkdir()
    for item in (model_dir / "conf").iterdir():
        text = item.read_text()
        (narrow / "conf" / item.name).write_text(text + "--sample-frequency=8000\n" if item.name == "mfcc.conf"
                                                 else text)
    locked = linked_copy("locked")
    locked.chmod(0)
    clip = str(ko_dev / "etts_kih00023.wav")
    as_nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]
    cases = [
        (["transcribe", "--model", str(narrow), clip], [], "8000 Hz model"),
        (["transcribe", "--model", str(locked), clip], as_nobody, "not readable"),
    ]
    nobody_home = Path(tempfile.mkdtemp(prefix="stt-nobody-"))  # under /tmp, where nobody can reach it
    nobody_home.chmod(0o777)
    for args, prefix, mentions in cases:
        env = {**clean_env, "HOME": str(nobody_home), "XDG_CONFIG_HOME": str(nobody_home),
               "XDG_DATA_HOME": str(nobody_home)} if prefix else clean_env
        done = subprocess.run([*prefix, *CLI, *args], env=env, cwd=ROOT, capture_output=True, text=True,
                              timeout=60)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 3 and len(lines) == 1 and mentions in lines[0], done.stderr
    locked.chmod(0o755)
    shutil.rmtree(nobody_home)


@pytest.mark.parametrize("make,mentions", [
    (lambda p: p.write_bytes(b""), "not a WAV file"),
    (lambda p: p.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x80\x3e\x00\x00"
                             b"\x00\x7d\x00\x00\x02\x00\x10\x00data\x00\x00\x00\x00"), "no audio samples"),
    (lambda p: p.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x55\x00\x01\x00\x80\x3e\x00\x00"
                             b"\x00\x7d\x00\x00\x02\x00\x10\x00data\x04\x00\x00\x00\x00\x00\x00\x00"),
     "unsupported WAV encoding"),
])
def test_bad_audio_files_are_refused_in_one_line(tmp_path: Path, clean_env: dict[str, str], make: Any,
                                                 mentions: str) -> None:
    bad = tmp_path / "bad.wav"
    make(bad)
    done = run_cli(["transcribe", str(bad)], clean_env)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 4 and len(lines) == 1 and mentions in lines[0], done.stderr


def test_a_two_hour_file_streams_in_bounded_memory(ko_dev: Path, tmp_path: Path,
                                                  clean_env: dict[str, str]) -> None:
    """Speech, then two hours of silence (a sparse file: no disk used), then speech again."""
    speech = (ko_dev / "etts_kih00012.wav").read_bytes()[44:]
    data_bytes = len(speech) * 2 + 2 * 3600 * 32000
    path = tmp_path / "two-hours.wav"
    with path.open("wb") as f:
        f.write(b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVEfmt " +
                struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16) + b"data" + struct.pack("<I", data_bytes))
        f.write(speech)
        f.seek(44 + data_bytes - len(speech))
        f.write(speech)
    listen = [*CLI, "listen", "--no-dbus", "--fast", "--input"]
    _, short_peak, short = run_measuring_peak_rss([*listen, str(ko_dev / "etts_kih00012.wav")], clean_env)
    _, long_peak, long = run_measuring_peak_rss([*listen, str(path)], clean_env)
    assert short.returncode == 0 and long.returncode == 0, long.stderr
    from devkit.textmetrics import corpus_cer

    finals = long.stdout.strip().splitlines()
    assert len(finals) == 2 and finals[0] == short.stdout.strip()
    assert corpus_cer([(finals[0], finals[1])]) <= 0.1, "the speech after two hours is heard too"
    assert long_peak < short_peak + 50, f"{long_peak:.0f} MB for 2 h vs {short_peak:.0f} MB for 3 s"


def test_a_closed_pipe_ends_cleanly(ko_dev: Path, tmp_path: Path, clean_env: dict[str, str]) -> None:
    clips = concat([ko_dev / "etts_kih00012.wav", ko_dev / "etts_kih00023.wav", ko_dev / "etts_kih00033.wav"],
                   tmp_path / "three.wav", 1.5)
    cli = " ".join(CLI)
    done = subprocess.run(["bash", "-c", f"set -o pipefail; {cli} listen --no-dbus --fast --input {clips} | head -1"],
                          env=clean_env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 1 and "Traceback" not in done.stderr and "Exception" not in done.stderr


def test_no_ip_socket_ever_and_no_transcript_in_the_logs(ko_dev: Path, tmp_path: Path,
                                                          clean_env: dict[str, str]) -> None:
    """Every socket() the serving process and its threads make, from exec to exit, under strace."""
    trace = tmp_path / "sockets.txt"
    with private_bus(tmp_path) as (address, _):
        env = {**clean_env, "DBUS_SESSION_BUS_ADDRESS": address}
        proc = subprocess.Popen(["strace", "-f", "--seccomp-bpf", "-e", "trace=socket", "-o", str(trace),
                                 *CLI, "serve", "--stdout", "--input", str(ko_dev / LONG)], env=env, cwd=ROOT,
                                text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    calls = [line for line in trace.read_text().splitlines() if "socket(" in line]
    assert any("AF_UNIX" in call for call in calls), "it does have sockets: the session bus"
    families = {call.split("socket(", 1)[1].split(",", 1)[0] for call in calls}
    assert families <= {"AF_UNIX", "AF_NETLINK"}, families
    text = out.strip()
    assert text
    for word in text.split():
        assert word not in err, f"transcript word {word!r} leaked into the log"


def test_hostile_dbus_calls_do_not_grow_memory(ko_dev: Path, tmp_path: Path, clean_env: dict[str, str]) -> None:
    with private_bus(tmp_path) as (address, _):
        env = {**clean_env, "DBUS_SESSION_BUS_ADDRESS": address}
        proc = subprocess.Popen([*CLI, "serve", "--stdout", "--input", str(ko_dev / LONG)], env=env, cwd=ROOT,
                                text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        wait_for_name(address, proc=proc)
        calls = [[f"{IFACE}.GetRecent", "string:x"], [f"{IFACE}.GetRecent", "uint32:4294967295"],
                 [f"{IFACE}.Nope"], [f"{IFACE}.GetStats", "int32:1"],
                 ["org.freedesktop.DBus.Properties.Set", f"string:{IFACE}", "string:Model", "variant:string:x"]]

        def rss() -> int:
            return int(Path(f"/proc/{proc.pid}/status").read_text().split("VmRSS:")[1].split()[0])

        assert dbus_send(address, f"{IFACE}.Pause").returncode == 0  # Vosk's own growth stays out of it
        for args in calls * 4:
            dbus_send(address, *args)
        before = rss()
        for args in calls * 20:
            dbus_send(address, *args)
        after = rss()
        assert dbus_send(address, f"{IFACE}.Resume").returncode == 0
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and out.strip(), err
    assert after - before < 5 * 1024, f"RSS grew by {(after - before) / 1024:.1f} MB over 100 calls"


def test_serve_with_a_bad_model_shows_the_error_on_dbus_and_recovers_on_reload(
        model_dir: Path, ko_dev: Path, tmp_path: Path, clean_env: dict[str, str],
        notify_socket: NotifySocket) -> None:
    config = Path(clean_env["XDG_CONFIG_HOME"]) / "stt-daemon" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'model = "{tmp_path / "nowhere"}"\n')
    with private_bus(tmp_path) as (address, _):
        env = {**clean_env, "DBUS_SESSION_BUS_ADDRESS": address, "NOTIFY_SOCKET": str(notify_socket.path)}
        proc = subprocess.Popen([*CLI, "serve", "--stdout", "--input", str(ko_dev / "etts_kih00012.wav")],
                                env=env, cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            wait_for_name(address, proc=proc)  # up, on the bus, not restarting
            notify_socket.wait_for("READY=1", 30)  # ready, so that systemd does not restart it in a storm
            assert notify_socket.lines("STATUS=")[-1].startswith("STATUS=error: ") and \
                "does not exist" in notify_socket.lines("STATUS=")[-1]
            got = dbus_send(address, "org.freedesktop.DBus.Properties.Get", f"string:{IFACE}", "string:LastError")
            assert "does not exist" in got.stdout
            state = dbus_send(address, "org.freedesktop.DBus.Properties.Get", f"string:{IFACE}", "string:State")
            assert '"starting"' in state.stdout, state.stdout
            refused = dbus_send(address, f"{IFACE}.Pause")
            assert refused.returncode != 0 and "not running" in refused.stderr
            config.write_text(f'model = "{model_dir}"\n')
            fixed = dbus_send(address, f"{IFACE}.Reload")
            assert fixed.returncode == 0, fixed.stderr
            out, err = proc.communicate(timeout=60)
        finally:
            proc.kill()
    assert proc.returncode == 0, err
    assert out.strip(), "after the reload it loaded the model and transcribed"
