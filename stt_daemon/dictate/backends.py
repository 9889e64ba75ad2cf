"""The tools that type into the focused window, one backend each, and the choice among them.

    xdotool    X11. ASCII is typed (exact in every trial); other text is pasted, because
               xdotool loses Korean characters however it is paced.
    wtype      wlroots Wayland (sway, Hyprland...). Types Unicode. Each run's first keystroke is
               often lost unless it waits: measured on headless sway 1.7 + foot 1.13, 100 runs
               each, interleaved, on a loaded 2-core machine: 36/100 whole with no wait, 96 with
               -s 1, 99 with -s 20, 100 with -s 100 (p50 149 ms), and 100 with -s 20 plus a
               throw-away Shift press (p50 67 ms), which is what runs here (_WTYPE).
    ydotool    any session, through the kernel's uinput; ASCII only, so other text is pasted.
    clipboard  always pastes (X11 or Wayland), then puts the old clipboard back.
"""

from __future__ import annotations

import logging
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

_LOGGER = logging.getLogger(__name__)


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


#: wtype's start: wait 20 ms, then a Shift press and release to absorb a lost first key
_WTYPE = ["wtype", "-s", "20", "-M", "shift", "-m", "shift"]


class Wtype:
    name = "wtype"

    def __init__(self) -> None:
        _need("wtype")

    def type_text(self, text: str) -> None:
        _run([*_WTYPE, "--", text])

    def backspace(self, count: int) -> None:
        if count > 0:
            _run([*_WTYPE, *["-k", "BackSpace"] * count])

    def newline(self) -> None:
        _run([*_WTYPE, "-k", "Return"])

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
            clipboard.paste_wayland(text, _presser([*_WTYPE, *chord]))
        else:
            clipboard.paste_x11(text, _presser(["xdotool", "key", "--clearmodifiers", self._paste_keys]))

    def backspace(self, count: int) -> None:
        self._inner.backspace(count)

    def newline(self) -> None:
        self._inner.newline()

    def focus(self) -> str | None:
        return self._inner.focus()


#: $XDG_CURRENT_DESKTOP names (any of its ':'-separated parts, in any case) of Wayland
#: compositors without the virtual-keyboard protocol that wtype needs: GNOME's mutter and
#: the shells built on it (Pantheon's gala, Cinnamon's muffin), and KDE's KWin.
NO_VIRTUAL_KEYBOARD = frozenset({"gnome", "gnome-classic", "gnome-flashback", "kde", "plasma", "pantheon",
                                 "x-cinnamon", "cinnamon"})


def auto_choice(env: Mapping[str, str] = os.environ) -> tuple[str, str]:
    """What ``--backend auto`` picks in the session ``env`` describes: (backend, why).

    The session is Wayland when $WAYLAND_DISPLAY is set or $XDG_SESSION_TYPE says "wayland",
    X11 when only $DISPLAY is set. On Wayland, $XDG_CURRENT_DESKTOP decides: GNOME and KDE do
    not let wtype type, so ydotool there; wtype elsewhere (sway, Hyprland, river, labwc...),
    else ydotool. Tools are looked up on the $PATH of ``env``.

    Never the clipboard: on Wayland it sends its paste keys with wtype, so it works exactly
    where wtype does. On GNOME or KDE without ydotool nothing can press a key, and the error
    says to install ydotool.
    """
    desktop = env.get("XDG_CURRENT_DESKTOP", "")
    session = env.get("XDG_SESSION_TYPE", "").lower()
    wayland_display, x11 = bool(env.get("WAYLAND_DISPLAY")), bool(env.get("DISPLAY"))
    if not (wayland_display or session == "wayland"):
        if not x11:
            raise ToolError("no desktop session to type into ($WAYLAND_DISPLAY and $DISPLAY are unset); "
                            "run dictate inside your session")
        return "xdotool", "X11 session"

    def have(tool: str) -> bool:
        return shutil.which(tool, path=env.get("PATH")) is not None

    named = desktop or "an unnamed desktop"
    if {part.strip().lower() for part in desktop.split(":")} & NO_VIRTUAL_KEYBOARD:
        if have("ydotool"):
            return "ydotool", f"{named} on Wayland has no virtual-keyboard protocol for wtype"
        raise ToolError(f"{named} on Wayland does not let wtype type, and ydotool is missing: install it with "
                        f"'sudo apt-get install {PACKAGES['ydotool']}' (and run ydotoold)")
    if not wayland_display:
        if have("ydotool"):
            return "ydotool", "Wayland session without $WAYLAND_DISPLAY for wtype"
        raise ToolError("a Wayland session, but $WAYLAND_DISPLAY is unset; run dictate inside your session")
    if have("wtype"):
        return "wtype", f"{named} on Wayland"
    if have("ydotool"):
        return "ydotool", f"{named} on Wayland, and wtype is missing"
    return "wtype", f"{named} on Wayland"  # missing: its constructor names the package to install


def choose(name: str, env: Mapping[str, str] = os.environ, paste_keys: str = "ctrl+v") -> Typer:
    """The backend called ``name``; for "auto", the one the session calls for (see auto_choice)."""
    wayland, x11 = bool(env.get("WAYLAND_DISPLAY")), bool(env.get("DISPLAY"))
    if name == "auto":
        name, why = auto_choice(env)
        _LOGGER.debug("--backend auto: %s (%s)", name, why)
        wayland = wayland or env.get("XDG_SESSION_TYPE", "").lower() == "wayland"
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
