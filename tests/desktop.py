"""A real X server (Xvfb) and a real text widget (Tk) that has the focus, for typing tests.

The widget writes its whole content to a file whenever it changes, so a test reads exactly
what a user would see in it. Everything is started here and stopped by the PID it got.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devkit.wayland import wait_for_text

TARGET = r"""
import os, sys, tkinter as tk
out = sys.argv[1]
keep_focus = sys.argv[2] == "1"  # take the focus back whenever it leaves (else: only at the start)
root = tk.Tk()
root.title(sys.argv[3])
root.geometry("900x300+0+0")
text = tk.Text(root)
text.pack(fill="both", expand=True)
shown = [None]
had_focus = [False]

def poll():
    if root.focus_get() is None and (keep_focus or not had_focus[0]):
        text.focus_force()
    elif root.focus_get() is not None:
        had_focus[0] = True
    content = text.get("1.0", "end-1c")
    if content != shown[0]:
        with open(out + ".tmp", "w", encoding="utf-8") as f:
            f.write(content)
        os.replace(out + ".tmp", out)
        shown[0] = content
    root.after(10, poll)

root.after(10, poll)
text.focus_force()
root.mainloop()
"""


class TextWidget:
    def __init__(self, out: Path) -> None:
        self.out = out

    def text(self) -> str:
        return self.out.read_text("utf-8") if self.out.exists() else ""

    def wait_for(self, expected: str, timeout_s: float = 60) -> str:
        return wait_for_text(self.text, expected, timeout_s, poll_s=0.02)


@contextmanager
def x_server() -> Iterator[str]:
    """Xvfb on a free display number; yields the DISPLAY value."""
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x800x24", "-nolisten",
                               "tcp"], pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    with os.fdopen(read_fd) as f:
        number = f.readline().strip()
    try:
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(10)


@contextmanager
def text_widget(display: str, folder: Path, title: str = "widget",
                keep_focus: bool = True) -> Iterator[TextWidget]:
    """A Tk Text widget with the keyboard focus on ``display``, in a window titled ``title``.
    With ``keep_focus`` it takes the focus back whenever it loses it; else it takes it once."""
    out = folder / f"{title}.txt"
    proc = subprocess.Popen([sys.executable, "-c", TARGET, str(out), "1" if keep_focus else "0", title],
                            env={**os.environ, "DISPLAY": display})
    try:
        deadline = time.monotonic() + 30
        while not out.exists():
            assert time.monotonic() < deadline and proc.poll() is None, "the Tk widget did not come up"
            time.sleep(0.05)
        yield TextWidget(out)
    finally:
        proc.terminate()
        proc.wait(10)
