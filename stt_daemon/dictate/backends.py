"""The tools that type into the focused window, one backend each, and the choice among them.

    xdotool    X11. ASCII is typed (exact in every trial); other text is pasted, because
               xdotool loses Korean characters however it is paced.
    wtype      wlroots Wayland (sway, Hyprland...). Types Unicode; -s 20 keeps its first
               keystroke from being lost (measured 81/81 with it, 28/81 without).
    ydotool    any session, through the kernel's uinput; ASCII only, so other text is pasted.
    clipboard  always pastes (X11 or Wayland), then puts the old clipboard back.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from stt_daemon.dictate import clipboard
from stt_daemon.errors import ToolError

#: tool -> the Debian package that brings it
PACKAGES = {"xdotool": "xdotool", "xclip": "xclip", "wtype": "wtype", "wl-copy": "wl-clipboard",
            "ydotool": "ydotool"}
NAMES = ("auto", "xdotool", "wtype", "ydotool", "clipboard")


class Typer(Protocol):
    name: str

    def type_text(self, text: str) -> None: ...

    def backspace(self, count: int) -> None: ...

    def newline(self) -> None: ...

    def focus(self) -> str | None:
        """The focused window's id, or None when this backend cannot tell."""
        ...


def _run(argv: Sequence[str]) -> str:
    done = subprocess.run(list(argv), capture_output=True, timeout=30)
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ToolError(f"{argv[0]} failed ({reason[-1] if reason else f'exit {done.returncode}'}); "
                        "is the desktop session still there?")
    return done.stdout.decode("utf-8", "replace")


def _presser(argv: list[str]) -> Callable[[], None]:
    def press() -> None:
        _run(argv)

    return press


def _need(*tools: str) -> None:
    for tool in tools:
        if shutil.which(tool) is None:
            raise ToolError(f"{tool} is missing: install it with 'sudo apt-get install {PACKAGES[tool]}'")


class Xdotool:
    name = "xdotool"

    def __init__(self, paste_keys: str = "ctrl+v") -> None:
        _need("xdotool", "xclip")
        self._paste_keys = paste_keys

    def type_text(self, text: str) -> None:
        if text.isascii():
            _run(["xdotool", "type", "--clearmodifiers", "--delay", "0", "--", text])
        else:
            clipboard.paste_x11(text, _presser(["xdotool", "key", "--clearmodifiers", self._paste_keys]))

    def backspace(self, count: int) -> None:
        if count > 0:
            _run(["xdotool", "key", "--clearmodifiers", "--delay", "0", "--repeat", str(count), "BackSpace"])

    def newline(self) -> None:
        _run(["xdotool", "key", "--clearmodifiers", "Return"])

    def focus(self) -> str | None:
        return _run(["xdotool", "getwindowfocus"]).strip() or None


class Wtype:
    name = "wtype"

    def __init__(self) -> None:
        _need("wtype")

    def type_text(self, text: str) -> None:
        _run(["wtype", "-s", "20", "--", text])

    def backspace(self, count: int) -> None:
        if count > 0:
            _run(["wtype", "-s", "20", *["-k", "BackSpace"] * count])

    def newline(self) -> None:
        _run(["wtype", "-s", "20", "-k", "Return"])

    def focus(self) -> str | None:
        return None  # Wayland keeps the focused window to the compositor


class Ydotool:
    name = "ydotool"

    def __init__(self, wayland: bool, paste_keys: str = "ctrl+v") -> None:
        _need("ydotool", "wl-copy" if wayland else "xclip")
        self._wayland = wayland
        self._paste_keys = paste_keys

    def type_text(self, text: str) -> None:
        if text.isascii():
            _run(["ydotool", "type", "--", text])
            return
        keys = _presser(["ydotool", "key", *_ydotool_chord(self._paste_keys)])
        (clipboard.paste_wayland if self._wayland else clipboard.paste_x11)(text, keys)

    def backspace(self, count: int) -> None:
        for _ in range(count):
            _run(["ydotool", "key", "14:1", "14:0"])  # KEY_BACKSPACE

    def newline(self) -> None:
        _run(["ydotool", "key", "28:1", "28:0"])  # KEY_ENTER

    def focus(self) -> str | None:
        return None


def _ydotool_chord(keys: str) -> list[str]:
    codes = {"ctrl": 29, "shift": 42, "v": 47, "insert": 110}
    presses = [codes[k] for k in keys.split("+")]
    return [f"{c}:1" for c in presses] + [f"{c}:0" for c in reversed(presses)]


class Clipboard:
    name = "clipboard"

    def __init__(self, wayland: bool, paste_keys: str = "ctrl+v") -> None:
        self._inner: Xdotool | Wtype = Wtype() if wayland else Xdotool(paste_keys)
        _need("wl-copy" if wayland else "xclip")
        self._wayland = wayland
        self._paste_keys = paste_keys

    def type_text(self, text: str) -> None:
        if self._wayland:
            mods = self._paste_keys.split("+")
            chord = [arg for m in mods[:-1] for arg in ("-M", m)] + ["-k", mods[-1]] + \
                [arg for m in reversed(mods[:-1]) for arg in ("-m", m)]
            clipboard.paste_wayland(text, _presser(["wtype", "-s", "20", *chord]))
        else:
            clipboard.paste_x11(text, _presser(["xdotool", "key", "--clearmodifiers", self._paste_keys]))

    def backspace(self, count: int) -> None:
        self._inner.backspace(count)

    def newline(self) -> None:
        self._inner.newline()

    def focus(self) -> str | None:
        return self._inner.focus()


def choose(name: str, env: Mapping[str, str] = os.environ, paste_keys: str = "ctrl+v") -> Typer:
    """The backend called ``name``; for "auto", the one the session calls for."""
    wayland, x11 = bool(env.get("WAYLAND_DISPLAY")), bool(env.get("DISPLAY"))
    if name == "auto":
        if not (wayland or x11):
            raise ToolError("no desktop session to type into ($WAYLAND_DISPLAY and $DISPLAY are unset); "
                            "run dictate inside your session")
        name = ("wtype" if shutil.which("wtype") else "ydotool") if wayland else "xdotool"
    if name in ("xdotool",) and not x11:
        raise ToolError("xdotool types into X11, and $DISPLAY is unset; use --backend wtype on Wayland")
    if name == "wtype" and not wayland:
        raise ToolError("wtype types into Wayland, and $WAYLAND_DISPLAY is unset; use --backend xdotool on X11")
    if name == "xdotool":
        return Xdotool(paste_keys)
    if name == "wtype":
        return Wtype()
    if name == "ydotool":
        return Ydotool(wayland, paste_keys)
    if name == "clipboard":
        if not (wayland or x11):
            raise ToolError("no desktop session ($WAYLAND_DISPLAY and $DISPLAY are unset) to paste into")
        return Clipboard(wayland, paste_keys)
    raise ToolError(f"no typing backend {name!r}; choose one of {', '.join(NAMES)}")
