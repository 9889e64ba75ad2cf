"""`dictate --backend auto`: which typing tool each kind of session gets.

A real GNOME or KDE session cannot be started on this machine, so the desktops are the
environment variables their sessions set ($XDG_CURRENT_DESKTOP, $XDG_SESSION_TYPE,
$WAYLAND_DISPLAY, $DISPLAY), and the tools present or absent are real executables (stub
scripts) on a $PATH of their own in a temporary folder. The choice itself is the shipped
code; one run of the real CLI checks the line that says which backend was chosen.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stt_daemon.dictate.backends import auto_choice, choose
from stt_daemon.errors import ExitCode, ToolError
from tests.conftest import assert_one_line_error, run_cli

ALL = ("wtype", "ydotool", "xdotool", "xclip", "wl-copy")
GNOME_WAYLAND = {"XDG_CURRENT_DESKTOP": "ubuntu:GNOME", "XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0",
                 "DISPLAY": ":0"}  # GNOME runs Xwayland too
KDE_WAYLAND = {"XDG_CURRENT_DESKTOP": "KDE", "XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0",
               "DISPLAY": ":1"}
SWAY = {"XDG_CURRENT_DESKTOP": "sway", "XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-1"}
HYPRLAND = {"XDG_CURRENT_DESKTOP": "Hyprland", "WAYLAND_DISPLAY": "wayland-1"}
GNOME_XORG = {"XDG_CURRENT_DESKTOP": "GNOME", "XDG_SESSION_TYPE": "x11", "DISPLAY": ":0"}
BARE_X11 = {"DISPLAY": ":0"}


def stub_path(folder: Path, tools: tuple[str, ...]) -> str:
    """A folder holding an executable for each of ``tools`` (and nothing else): a $PATH."""
    folder.mkdir(exist_ok=True)
    for tool in tools:
        stub = folder / tool
        stub.write_text("#!/bin/sh\nexit 0\n")
        stub.chmod(0o755)
    return str(folder)


@pytest.mark.parametrize("session, tools, expected, why", [
    (GNOME_WAYLAND, ALL, "ydotool", "no virtual-keyboard protocol for wtype"),
    (GNOME_WAYLAND, ("ydotool", "wl-copy"), "ydotool", "ubuntu:GNOME on Wayland"),
    (KDE_WAYLAND, ALL, "ydotool", "KDE on Wayland has no virtual-keyboard protocol"),
    ({**KDE_WAYLAND, "XDG_CURRENT_DESKTOP": "plasma"}, ALL, "ydotool", "plasma on Wayland"),
    (SWAY, ALL, "wtype", "sway on Wayland"),
    (SWAY, ("ydotool", "wl-copy"), "ydotool", "wtype is missing"),
    (HYPRLAND, ALL, "wtype", "Hyprland on Wayland"),
    ({"WAYLAND_DISPLAY": "wayland-1"}, ALL, "wtype", "an unnamed desktop on Wayland"),
    ({**SWAY, "DISPLAY": ":0"}, ALL, "wtype", "sway on Wayland"),  # Xwayland beside sway: still Wayland
    ({"XDG_SESSION_TYPE": "wayland", "XDG_CURRENT_DESKTOP": "sway"}, ALL, "ydotool", "without $WAYLAND_DISPLAY"),
    (GNOME_XORG, ALL, "xdotool", "X11 session"),
    (BARE_X11, ("xdotool",), "xdotool", "X11 session"),
    ({**BARE_X11, "XDG_SESSION_TYPE": "x11", "XDG_CURRENT_DESKTOP": "KDE"}, ALL, "xdotool", "X11 session"),
])
def test_auto_picks_by_session_desktop_and_installed_tools(
        tmp_path: Path, session: dict[str, str], tools: tuple[str, ...], expected: str, why: str) -> None:
    env = {**session, "PATH": stub_path(tmp_path / "bin", tools)}
    name, reason = auto_choice(env)
    assert (name, why in reason) == (expected, True), reason


@pytest.mark.parametrize("session, tools, message", [
    (GNOME_WAYLAND, ("wtype", "wl-copy", "xdotool", "xclip"), "does not let wtype type, and ydotool is missing: "
                                                              "install it with 'sudo apt-get install ydotool'"),
    (KDE_WAYLAND, ("wtype", "wl-copy"), "KDE on Wayland does not let wtype type"),
    ({"XDG_SESSION_TYPE": "wayland"}, ("wtype",), "$WAYLAND_DISPLAY is unset"),
    ({"XDG_SESSION_TYPE": "tty"}, ALL, "no desktop session to type into"),
    ({}, ALL, "no desktop session to type into"),
])
def test_auto_says_what_to_install_when_nothing_can_type(
        tmp_path: Path, session: dict[str, str], tools: tuple[str, ...], message: str) -> None:
    with pytest.raises(ToolError) as raised:
        auto_choice({**session, "PATH": stub_path(tmp_path / "bin", tools)})
    assert message in str(raised.value)


def test_choose_builds_the_picked_backend_and_names_a_missing_tool(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The constructors look the tools up on the real $PATH: the stubs only stand in for them."""
    monkeypatch.setenv("PATH", stub_path(tmp_path / "bin", ALL))
    assert choose("auto", {**SWAY, "PATH": os.environ["PATH"]}).name == "wtype"
    assert choose("auto", {**GNOME_WAYLAND, "PATH": os.environ["PATH"]}).name == "ydotool"
    assert choose("auto", {**GNOME_XORG, "PATH": os.environ["PATH"]}).name == "xdotool"
    monkeypatch.setenv("PATH", stub_path(tmp_path / "few", ("ydotool",)))
    with pytest.raises(ToolError, match="wl-copy is missing: install it with 'sudo apt-get install wl-clipboard'"):
        choose("auto", {**GNOME_WAYLAND, "PATH": os.environ["PATH"]})  # ydotool pastes what it cannot type


def test_the_cli_says_once_which_backend_auto_chose(tmp_path: Path, clean_env: dict[str, str]) -> None:
    """The real command, in a 'GNOME on Wayland' environment whose $PATH has the stubs only; it
    then stops with one line, for there is no session bus."""
    env = {**clean_env, **GNOME_WAYLAND, "PATH": stub_path(tmp_path / "bin", ALL),
           "DBUS_SESSION_BUS_ADDRESS": f"unix:path={tmp_path}/none"}
    done = run_cli(["dictate", "--backend", "auto"], env, timeout=60)
    chosen = [line for line in done.stderr.splitlines() if "typing with" in line]
    said = "typing with ydotool (Wayland session, ubuntu:GNOME; ubuntu:GNOME on Wayland has no virtual-keyboard"
    assert len(chosen) == 1 and said in chosen[0], done.stderr
    assert done.returncode != 0 and "Traceback" not in done.stderr
    missing = run_cli(["dictate", "--backend", "auto"], {**env, "PATH": str(tmp_path / "none")}, timeout=60)
    assert_one_line_error(missing, ExitCode.TOOL, "ydotool is missing")
