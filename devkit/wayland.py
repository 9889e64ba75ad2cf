"""A real Wayland session without a screen: headless sway, and a foot terminal that writes
every byte it is typed to a file, for typing tests and benchmarks.

sway refuses to start as root ("Unable to drop root ... refusing to start"): as root it
runs here as nobody (setpriv), in a runtime folder of its own that root's clients reach
too. The terminal runs `stty -icanon -echo; cat >> FILE`, so the file holds exactly the
characters the window received, as they came. Everything is started here and stopped by
the PID it got.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

NOBODY = 65534
_CONFIG = """\
output HEADLESS-1 resolution 1280x800
xwayland disable
default_border none
focus_follows_mouse no
"""


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@contextmanager
def sway_session() -> Iterator[dict[str, str]]:
    """Headless sway; yields the environment its clients need (XDG_RUNTIME_DIR, WAYLAND_DISPLAY)."""
    folder = Path(tempfile.mkdtemp(prefix="stt-sway-"))
    try:
        (folder / "sway.conf").write_text(_CONFIG)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(folder),
               "XDG_RUNTIME_DIR": str(folder), "WLR_BACKENDS": "headless", "WLR_LIBINPUT_NO_DEVICES": "1",
               "WLR_RENDERER": "pixman"}
        argv = ["sway", "-c", str(folder / "sway.conf")]
        if os.geteuid() == 0:
            os.chown(folder, NOBODY, NOBODY)
            argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *argv]
        folder.chmod(0o700)
        with open(folder / "sway.log", "wb") as log:
            sway = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while not list(folder.glob("wayland-*.lock")) or not list(folder.glob("sway-ipc.*.sock")):
                if sway.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("headless sway did not start: "
                                       + (folder / "sway.log").read_text("utf-8", "replace")[-1500:])
                time.sleep(0.05)
            socket = next(folder.glob("wayland-*.lock")).name.removesuffix(".lock")
            yield {"XDG_RUNTIME_DIR": str(folder), "WAYLAND_DISPLAY": socket}
        finally:
            _stop(sway)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class Recorder:
    """What the terminal window received, byte for byte (UTF-8)."""

    def __init__(self, out: Path) -> None:
        self.out = out

    def text(self) -> str:
        return self.out.read_bytes().decode("utf-8", "replace") if self.out.exists() else ""

    def clear(self) -> None:
        self.out.write_bytes(b"")  # the terminal appends (O_APPEND), so it starts again at 0

    def wait_for(self, expected: str, timeout_s: float = 60) -> str:
        return wait_for_text(self.text, expected, timeout_s, poll_s=0.01)


def wait_for_text(read: Callable[[], str], expected: str, timeout_s: float, poll_s: float) -> str:
    """Polls ``read()`` until it returns ``expected`` or time runs out; returns what it last read,
    so a failed assert shows what a window held instead."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if read() == expected:
            return expected
        time.sleep(poll_s)
    return read()


@contextmanager
def recording_terminal(session: dict[str, str], folder: Path) -> Iterator[Recorder]:
    """foot, focused, running `cat >> FILE` on a raw tty; ready once a probe keystroke arrived
    (the file is empty again when this yields)."""
    out = folder / "typed.txt"
    env = {**os.environ, **session, "HOME": str(folder)}
    foot = subprocess.Popen(["foot", "-e", "sh", "-c", f"stty -icanon -echo; exec cat >> '{out}'"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        recorder = Recorder(out)
        deadline = time.monotonic() + 30
        while not out.exists():
            if foot.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("foot did not come up on the headless sway")
            time.sleep(0.05)
        while not recorder.text():  # the window has the keyboard focus once a key lands
            if time.monotonic() > deadline:
                raise RuntimeError("nothing typed with wtype reached the foot window")
            subprocess.run(["wtype", "-s", "20", "--", "."], env=env, check=True, timeout=10)
            time.sleep(0.1)
        recorder.clear()
        yield recorder
    finally:
        _stop(foot)
