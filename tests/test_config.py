"""config.toml, $STT_DAEMON_* and the command line, and reloading a running daemon."""

from __future__ import annotations

import io
import json
import signal
import tomllib
import subprocess
import threading
import time
import wave
from pathlib import Path
from typing import Any

import pytest

from stt_daemon import settings
from stt_daemon.config import Config, ConfigError, load, show
from stt_daemon.settings import Settings
from devkit.textmetrics import corpus_cer
from stt_daemon.errors import ExitCode
from tests.conftest import CLI, ROOT, assert_one_line_error, run_cli, wait_for_line
from tests.dbus_helpers import IFACE, dbus_send, private_bus, wait_for_name
from tests.pipeline_helpers import concat


def write_config(env: dict[str, str], text: str) -> Path:
    path = Path(env["XDG_CONFIG_HOME"]) / "stt-daemon" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_precedence_command_line_then_environment_then_file_then_defaults(clean_env: dict[str, str]) -> None:
    path = write_config(clean_env, 'device = "from-file"\nblock_ms = 40\nlatency_budget_ms = 80\n')
    env = {**clean_env, "STT_DAEMON_BLOCK_MS": "30"}
    config = load({"latency_budget_ms": 70}, env)
    values = config.settings
    assert values.device == "from-file" and config.sources["device"] == f"{path}:1"
    assert values.block_ms == 30 and config.sources["block_ms"] == "$STT_DAEMON_BLOCK_MS"
    assert values.latency_budget_ms == 70 and config.sources["latency_budget_ms"] == "command line"
    assert values.output == "text" and config.sources["output"] == "default"
    shown = run_cli(["config", "show"], env)
    assert shown.returncode == 0, shown.stderr
    lines = dict(line.split(" = ", 1) for line in shown.stdout.splitlines() if " = " in line)
    assert lines["device"].split() == ['"from-file"', "#", f"{path}:1"]
    assert lines["block_ms"].split() == ["30", "#", "$STT_DAEMON_BLOCK_MS"]
    assert lines["dbus"].split() == ["true", "#", "default"]


@pytest.mark.parametrize("text,line,mentions", [
    ('device = "pulse"\nblock_ms = [20\n', 2, "not valid TOML"),
    ('device = "pulse"\n\nnoise_gate = true\n', 3, "unknown key 'noise_gate'"),
    ('block_ms = "twenty"\n', 1, "block_ms must be a whole number, not 'twenty'"),
    ('dbus = 1\n', 1, "dbus must be true or false, not 1"),
    ('\nendpoint_silence_ms = 5\n', 2, "endpoint_silence_ms must be from 50 to 10000"),
])
def test_each_bad_file_is_one_line_with_file_line_and_key(clean_env: dict[str, str], text: str, line: int,
                                                           mentions: str) -> None:
    path = write_config(clean_env, text)
    done = run_cli(["config", "show"], clean_env)
    assert_one_line_error(done, ExitCode.USAGE, mentions)
    assert f"{path}:{line}" in done.stderr, done.stderr


def test_bad_environment_value_is_one_line(clean_env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="STT_DAEMON_DBUS"):
        load({}, {**clean_env, "STT_DAEMON_DBUS": "maybe"})


def test_sighup_changes_the_endpoint_silence_of_a_running_daemon_without_a_gap(
        clean_env: dict[str, str], ko_dev: Path, tmp_path: Path) -> None:
    """The audio comes through a pipe the test feeds, so the reload (a new recognizer built at
    low priority) always lands mid-stream, however loaded the machine is."""
    clips = ["etts_kih00012.wav", "etts_kih00023.wav", "etts_kih00033.wav", "etts_kih00001.wav"]
    joined = concat([ko_dev / c for c in clips], tmp_path / "four.wav", 1.5)
    with wave.open(str(joined)) as w:
        pcm = w.readframes(w.getnframes())
    first_clip_bytes = int(((ko_dev / clips[0]).stat().st_size - 44) + 1.5 * 32000) // 2 * 2
    expected = run_cli(["transcribe", *[str(ko_dev / c) for c in clips]], clean_env)
    path = write_config(clean_env, "endpoint_silence_ms = 4000\n")  # gaps of 1.5 s end nothing
    proc = subprocess.Popen([*CLI, "listen", "--no-dbus", "--json", "--partials", "--input", "-", "--raw"],
                            env=clean_env, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    logged: list[str] = []
    reloaded = threading.Event()

    def read_log() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            logged.append(line.decode())
            if b"configuration reloaded" in line:
                reloaded.set()

    reader = threading.Thread(target=read_log, daemon=True)
    reader.start()
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(pcm[:first_clip_bytes])
        proc.stdin.flush()
        out = io.TextIOWrapper(proc.stdout, "utf-8")  # kept: dropping it would close the pipe
        first = json.loads(wait_for_line(out, '"partial"', 120))
        path.write_text("endpoint_silence_ms = 300\n")
        proc.send_signal(signal.SIGHUP)
        assert reloaded.wait(120), "".join(logged)
        proc.stdin.write(pcm[first_clip_bytes:])
        proc.stdin.close()
        rest = out.read()
        proc.wait(60)
        reader.join(10)
    finally:
        proc.kill()
    assert proc.returncode == 0, "".join(logged)
    finals = [r for r in map(json.loads, rest.splitlines()) if r["type"] == "final"]
    # With 4000 ms the four clips would be one final; after the reload each gap ends one.
    assert len(finals) >= 3, finals
    assert finals[0]["utterance"] == first["utterance"]
    assert [f["utterance"] for f in finals] == list(range(first["utterance"], first["utterance"] + len(finals)))
    heard = " ".join(f["text"] for f in finals)
    reference = " ".join(line.split(": ", 1)[1] for line in expected.stdout.splitlines())
    assert corpus_cer([(reference, heard)]) <= 0.1, "nothing was lost across the reload"


def test_a_bad_new_config_is_refused_and_the_old_one_keeps_running(
        clean_env: dict[str, str], ko_dev: Path, tmp_path: Path) -> None:
    path = write_config(clean_env, "latency_budget_ms = 60\n")
    with private_bus(tmp_path) as (address, _):
        env = {**clean_env, "DBUS_SESSION_BUS_ADDRESS": address}
        proc = subprocess.Popen([*CLI, "serve", "--stdout", "--input", str(ko_dev / "etts_adc00001.wav")],
                                env=env, cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            wait_for_name(address, proc=proc)
            path.write_text("latency_budget_ms = oops\n")
            refused = dbus_send(address, f"{IFACE}.Reload")
            assert refused.returncode != 0 and "not valid TOML" in refused.stderr
            assert len(refused.stderr.strip().splitlines()) == 1
            proc.send_signal(signal.SIGHUP)
            assert proc.stderr is not None
            refusal = wait_for_line(proc.stderr, "reload refused", 60)
            out, err = proc.communicate(timeout=120)
            err = refusal + err
        finally:
            proc.kill()
    assert proc.returncode == 0, err
    assert "reload refused" in err and out.strip(), "it kept transcribing with the old configuration"


def test_reload_moves_to_another_device_live(clean_env: dict[str, str], virtual_mic: dict[str, str],
                                             ko_dev: Path, tmp_path: Path) -> None:
    from tests.conftest import play
    from tests.dbus_helpers import SignalCollector
    from devkit.servers import source_outputs

    path = write_config(clean_env, 'device = "pulse"\n')
    with private_bus(tmp_path) as (address, _):
        env = {**clean_env, **virtual_mic, "DBUS_SESSION_BUS_ADDRESS": address}
        collector = SignalCollector(address)
        baseline = source_outputs(virtual_mic)
        proc = subprocess.Popen([*CLI, "serve"], env=env, cwd=ROOT, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            wait_for_name(address, proc=proc)
            path.write_text('device = "default"\n')
            proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not any(
                    "Device" in changed and "'default'" in changed["Device"]
                    for _, changed, _ in collector.of("PropertiesChanged")):
                time.sleep(0.1)
            assert any("'default'" in c.get("Device", "") for _, c, _ in collector.of("PropertiesChanged"))
            while source_outputs(virtual_mic) != baseline + 1:  # the old stream is closed after the hand-over
                assert time.monotonic() < deadline, "the old stream stayed open"
                time.sleep(0.05)
            play(ko_dev / "etts_kih00012.wav", virtual_mic)
            final = collector.wait_for("Final", 1, 15)[0]
            assert final[1], "speech on the new device is transcribed"
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=10)
            collector.close()
    assert proc.returncode == 0, err
    assert "now listening to device" in err


def _other_value(name: str) -> Any:
    """A valid value for ``name`` that is not its default."""
    spec, default = settings.spec_of(name), getattr(Settings(), name)
    kind, _ = settings.value_type(name)
    if kind is dict:
        return {"from a layer": "text"}
    if kind is bool:
        return not default
    if spec.choices:
        return next(c for c in spec.choices if c != default)
    if kind is str:
        return "from-a-layer"
    assert spec.low is not None
    value = int(spec.low) + (spec.step or 1) if kind is int else spec.low + 0.5
    return value if value != default else value + (spec.step or 1)


def test_every_setting_reaches_every_layer_from_its_one_declaration(clean_env: dict[str, str],
                                                                     tmp_path: Path) -> None:
    from stt_daemon.cli import cli

    for name in settings.names():
        for command in ("listen", "serve", "transcribe"):
            options = {param.name for param in cli.commands[command].params}
            assert (name in options) == (command in settings.spec_of(name).commands), (name, command)
    file_keys = [n for n in settings.names() if settings.spec_of(n).in_file]
    wanted = Settings(**{n: _other_value(n) for n in file_keys})
    scalars = [n for n in file_keys if settings.value_type(n)[0] is not dict]  # tables live in the file
    env = {**clean_env, **{settings.env_name(n): str(getattr(wanted, n)) for n in scalars}}
    from_env = load({}, env)
    assert all(getattr(from_env.settings, n) == getattr(wanted, n) for n in scalars)
    assert all(from_env.sources[n] == f"${settings.env_name(n)}" for n in scalars)
    path = write_config(clean_env, show(Config(wanted, from_env.sources), with_sources=False))
    from_file = load({}, clean_env)
    assert from_file.settings == wanted and from_file.sources["block_ms"].startswith(f"{path}:")
    shown = run_cli(["config", "show", "--toml"], clean_env)
    assert shown.returncode == 0, shown.stderr
    assert tomllib.loads(shown.stdout) == {n: getattr(wanted, n) for n in file_keys}
    assert wanted.changed(Settings()).keys() == set(file_keys), "the reload diff sees every key"
