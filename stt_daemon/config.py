"""Configuration layers: command line, then environment, then config.toml, then defaults.

Every value remembers where it came from, for ``stt-daemon config show``. A bad
file is refused with one line that names the file, the line and the key. The
keys, their types and their checks all come from ``settings.Settings``.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stt_daemon import settings
from stt_daemon.errors import UsageError
from stt_daemon.settings import Settings


class ConfigError(UsageError):
    """A bad config.toml or $STT_DAEMON_* value."""


def config_path(env: Mapping[str, str] = os.environ) -> Path:
    home = Path(env.get("HOME") or Path.home())
    return Path(env.get("XDG_CONFIG_HOME") or home / ".config") / "stt-daemon" / "config.toml"


def file_keys() -> list[str]:
    return [name for name in settings.names() if settings.spec_of(name).in_file]


@dataclass(frozen=True)
class Config:
    settings: Settings
    sources: dict[str, str]  # key -> "command line", "$STT_DAEMON_X", "/path/config.toml:LINE", "default"


def _line_of(text: str, key: str) -> int | None:
    """The line that sets ``key``: ``key = ...``, or a table's ``[key]`` header."""
    for number, line in enumerate(text.splitlines(), 1):
        if re.match(rf"\s*({re.escape(key)}\s*=|\[\s*{re.escape(key)}\s*\])", line):
            return number
    return None


def read_file(path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """The file's values and each one's location; a missing file is empty."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return {}, {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"at line (\d+)", str(exc))
        line = found.group(1) if found else str(max(1, len(text.splitlines())))
        reason = re.sub(r"\s*\(at [^)]*\)", "", str(exc))
        raise ConfigError(f"{path}:{line}: not valid TOML: {reason}; fix that line") from None
    known = file_keys()
    values, sources = {}, {}
    for key, value in data.items():
        where = f"{path}:{_line_of(text, key) or '?'}"
        if key not in known:
            raise ConfigError(f"{where}: unknown key {key!r}; known keys: {', '.join(known)}")
        try:
            values[key] = settings.coerce(key, value)
        except ValueError as exc:
            raise ConfigError(f"{where}: {key} {exc}") from None
        sources[key] = where
    return values, sources


def load(cli: Mapping[str, Any], env: Mapping[str, str] = os.environ, path: Path | None = None) -> Config:
    """Merge the layers; ``cli`` holds only what the command line set (None: not given)."""
    file_values, file_sources = read_file(path if path is not None else config_path(env))
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for key in settings.names():
        spec, name = settings.spec_of(key), settings.env_name(key)
        if cli.get(key) is not None:
            try:
                values[key] = settings.coerce(key, cli[key])
            except ValueError as exc:
                raise UsageError(f"{settings.option_name(key)} {exc}") from None
            sources[key] = "command line"
        elif spec.in_file and env.get(name):
            try:
                values[key] = settings.parse_text(key, env[name])
            except ValueError as exc:
                raise ConfigError(f"${name} {exc}") from None
            sources[key] = f"${name}"
        elif key in file_values:
            values[key], sources[key] = file_values[key], file_sources[key]
        else:
            sources[key] = "default"
    return Config(Settings(**values), sources)


def toml_value(value: Any) -> str:
    """A value written as TOML."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_value(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def show(config: Config, with_sources: bool = True) -> str:
    """config.toml text for the effective configuration; unset keys are comments."""
    lines = []
    for key in file_keys():
        value = getattr(config.settings, key)
        line = f"# {key} is unset" if value is None else f"{key} = {toml_value(value)}"
        if with_sources:
            line = f"{line:<40}  # {config.sources[key]}"
        lines.append(line)
    return "\n".join(lines) + "\n"
