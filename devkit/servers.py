"""Private servers for tests and benchmarks: a session bus and a virtual microphone.

Each is started here, under a folder of its own, and stopped by the PID it started;
nothing touches a user's bus or sound server.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("STT_SHARED", ROOT.parent / "shared"))
KO_DEV = SHARED / "audio" / "ko-dev"
VIRTUAL_MIC = ROOT / "scripts" / "virtual-mic"


def start_bus(folder: Path, env: dict[str, str] | None = None) -> tuple[str, int]:
    """dbus-daemon --session on a socket under ``folder``: (address, pid). ``env`` is what it
    runs with, and so what the services it activates see ($XDG_DATA_HOME/dbus-1/services)."""
    (folder / "bus").unlink(missing_ok=True)  # a dead daemon leaves its socket file behind
    out = subprocess.run(
        ["dbus-daemon", "--session", "--fork", "--nopidfile", "--print-address=1", "--print-pid=1",
         f"--address=unix:path={folder}/bus"], capture_output=True, text=True, check=True, timeout=20,
        env=env)
    address, pid = out.stdout.split()[:2]
    return address, int(pid)


@contextmanager
def private_bus(folder: Path | None = None, env: dict[str, str] | None = None) -> Iterator[tuple[str, int]]:
    """A private session bus, killed by PID afterwards."""
    with tempfile.TemporaryDirectory() as scratch:
        address, pid = start_bus(folder or Path(scratch), env)
        try:
            yield address, pid
        finally:
            try:
                os.kill(pid, 15)
            except ProcessLookupError:
                pass


def start_virtual_mic(folder: Path) -> dict[str, str]:
    """scripts/virtual-mic start: returns the client environment (PULSE_SERVER, ...)."""
    out = subprocess.run([str(VIRTUAL_MIC), "start", str(folder)], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(f"virtual-mic did not start: {out.stderr.strip()}")
    return dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)


def stop_virtual_mic(folder: Path) -> None:
    subprocess.run([str(VIRTUAL_MIC), "stop", str(folder)], timeout=30, check=False)


@contextmanager
def virtual_mic(folder: Path | None = None) -> Iterator[dict[str, str]]:
    with tempfile.TemporaryDirectory() as scratch:
        where = folder or Path(scratch)
        env = start_virtual_mic(where)
        try:
            yield env
        finally:
            stop_virtual_mic(where)


def source_outputs(pulse_env: dict[str, str]) -> int:
    """How many streams record from the virtual microphone's server (its own remap is one)."""
    out = subprocess.run(["pactl", "list", "short", "source-outputs"], env={**os.environ, **pulse_env},
                         capture_output=True, text=True, check=True, timeout=10)
    return len(out.stdout.splitlines())
