"""Install the systemd user units and the D-Bus activation file for this installation.

stt-daemon.service is the one a user enables: it listens at login unless config.toml says
start_paused. stt-daemon-activated.service is what bus activation starts (an app calling the
daemon while it is not running): the same sandboxed unit, always paused, never enabled. With
--dictate, stt-daemon-dictate.service too: the typing client, part of the graphical session.
"""

from __future__ import annotations

import importlib.resources
import logging
import os
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

from stt_daemon.errors import UsageError
from stt_daemon.files import write_file

_LOGGER = logging.getLogger(__name__)

UNIT_NAME = "stt-daemon.service"
ACTIVATED_UNIT_NAME = "stt-daemon-activated.service"
ACTIVATION_NAME = "org.sttdaemon.SttDaemon.service"
DICTATE_UNIT_NAME = "stt-daemon-dictate.service"


def _home(env: Mapping[str, str]) -> Path:
    return Path(env.get("HOME") or Path.home())


def unit_path(env: Mapping[str, str] = os.environ, name: str = UNIT_NAME) -> Path:
    config = Path(env.get("XDG_CONFIG_HOME") or _home(env) / ".config")
    return config / "systemd" / "user" / name


def activation_path(env: Mapping[str, str] = os.environ) -> Path:
    data = Path(env.get("XDG_DATA_HOME") or _home(env) / ".local" / "share")
    return data / "dbus-1" / "services" / ACTIVATION_NAME


def command_line() -> str:
    """How to start this very installation: its console script, else this interpreter."""
    script = Path(sys.executable).parent / "stt-daemon"
    if script.is_file() and os.access(script, os.X_OK):
        return shlex.quote(str(script))
    return f"{shlex.quote(sys.executable)} -m stt_daemon"


def _template(name: str) -> str:
    return (importlib.resources.files("stt_daemon") / "data" / name).read_text("utf-8")


def _with_exec(text: str, key: str, command: str) -> str:
    """The template's ``key=/usr/bin/stt-daemon ARGS`` line with this install's command (in a
    unit, % starts a specifier, so a path holding one is written %%)."""
    if key == "ExecStart":
        command = command.replace("%", "%%")
    return "\n".join(f"{key}={command} {line.split(' ', 1)[1]}" if line.startswith(f"{key}=") else line
                      for line in text.splitlines()) + "\n"


def activated_unit(text: str) -> str:
    """The enabled unit turned into the one bus activation starts: paused, never enabled,
    and stopped when the user starts the real one."""
    out = []
    for line in text.split("\n[Install]")[0].splitlines():
        if line.startswith("Description="):
            line += " (started by D-Bus activation: paused until asked)"
        elif line.startswith("ExecStart="):
            line += " --start-paused"
        out.append(line)
        if line.startswith("After="):
            out.append(f"Conflicts={UNIT_NAME}")
    return "\n".join(out) + "\n"


def install(env: Mapping[str, str] = os.environ, dictate: bool = False) -> list[Path]:
    command = command_line()
    unit = _with_exec(_template(UNIT_NAME), "ExecStart", command)
    files = [(unit_path(env), unit), (unit_path(env, ACTIVATED_UNIT_NAME), activated_unit(unit)),
             (activation_path(env), _with_exec(_template(ACTIVATION_NAME), "Exec", command))]
    if dictate:
        files.append((unit_path(env, DICTATE_UNIT_NAME),
                      _with_exec(_template(DICTATE_UNIT_NAME), "ExecStart", command)))
    for path, text in files:
        try:
            write_file(path, text)
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror}; check that folder's permissions") from None
    return [path for path, _ in files]


def uninstall(env: Mapping[str, str] = os.environ) -> list[Path]:
    removed = []
    for path in (unit_path(env), unit_path(env, ACTIVATED_UNIT_NAME), activation_path(env),
                 unit_path(env, DICTATE_UNIT_NAME)):
        if path.is_file() or path.is_symlink():
            path.unlink()
            removed.append(path)
    return removed
