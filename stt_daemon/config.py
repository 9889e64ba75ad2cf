"""Configuration: command line, then environment, then config.toml, then defaults.

Every value remembers where it came from, for `stt-daemon config show`. A bad
file is refused with one line that names the file, the line and the key.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stt_daemon.errors import SttError


class ConfigError(SttError):
    exit_code = 2


def _int_range(low: int, high: int) -> Callable[[Any], str | None]:
    return lambda v: None if low <= v <= high else f"must be from {low} to {high}"


def _choice(*options: str) -> Callable[[Any], str | None]:
    return lambda v: None if v in options else f"must be one of {', '.join(options)}"


def _partial_interval(v: int) -> str | None:
    return None if 30 <= v <= 2000 and v % 10 == 0 else "must be a multiple of 10 from 30 to 2000"


@dataclass(frozen=True)
class Key:
    type: type
    default: Any
    check: Callable[[Any], str | None] | None = None
    help: str = ""


KEYS: dict[str, Key] = {
    "model": Key(str, None, None, "model folder or installed model name"),
    "device": Key(str, None, None, "input device: index or part of its name"),
    "block_ms": Key(int, 20, _int_range(10, 500), "audio block length"),
    "latency_budget_ms": Key(int, 50, _int_range(5, 5000), "per-block latency budget"),
    "endpoint_silence_ms": Key(int, None, _int_range(50, 10000), "trailing silence before a final"),
    "partial_interval_ms": Key(int, None, _partial_interval, "Vosk decoding chunk"),
    "output": Key(str, "text", _choice("text", "json"), "stdout format"),
    "partials": Key(bool, False, None, "print partials when stdout is not a terminal"),
    "dbus": Key(bool, True, None, "publish on the session bus"),
}


def config_path(env: Mapping[str, str] = os.environ) -> Path:
    home = Path(env.get("HOME") or Path.home())
    return Path(env.get("XDG_CONFIG_HOME") or home / ".config") / "stt-daemon" / "config.toml"


@dataclass(frozen=True)
class Config:
    values: dict[str, Any]
    sources: dict[str, str]  # key -> "command line", "$STT_DAEMON_X", "/path/config.toml:LINE", "default"

    def __getitem__(self, key: str) -> Any:
        return self.values[key]


def _line_of(text: str, key: str) -> int | None:
    for number, line in enumerate(text.splitlines(), 1):
        if re.match(rf"\s*{re.escape(key)}\s*=", line):
            return number
    return None


def _check(key: str, value: Any, where: str) -> Any:
    spec = KEYS[key]
    if spec.type is int and isinstance(value, bool) or not isinstance(value, spec.type):
        raise ConfigError(f"{where}: {key} must be a {spec.type.__name__}, not {value!r}")
    problem = spec.check(value) if spec.check else None
    if problem:
        raise ConfigError(f"{where}: {key} {problem} (got {value!r})")
    return value


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
        raise ConfigError(f"{path}:{line}: not valid TOML: {reason}") from None
    values, sources = {}, {}
    for key, value in data.items():
        where = f"{path}:{_line_of(text, key) or '?'}"
        if key not in KEYS:
            raise ConfigError(f"{where}: unknown key {key!r}; known keys: {', '.join(KEYS)}")
        values[key] = _check(key, value, where)
        sources[key] = where
    return values, sources


def _from_env(key: str, raw: str) -> Any:
    spec, name = KEYS[key], f"$STT_DAEMON_{key.upper()}"
    value: Any = raw
    if spec.type is bool:
        if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
            raise ConfigError(f"{name}: must be true or false, not {raw!r}")
        value = raw.lower() in ("1", "true", "yes")
    elif spec.type is int:
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name}: must be a whole number, not {raw!r}") from None
    return _check(key, value, name)


def load(cli: Mapping[str, Any], env: Mapping[str, str] = os.environ, path: Path | None = None) -> Config:
    """Merge the layers; ``cli`` holds only what the command line set (None: not given)."""
    file_values, file_sources = read_file(path if path is not None else config_path(env))
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for key, spec in KEYS.items():
        env_name = f"STT_DAEMON_{key.upper()}"
        if cli.get(key) is not None:
            option = "--" + key.replace("_", "-")
            values[key], sources[key] = _check(key, cli[key], f"command line {option}"), "command line"
        elif env.get(env_name):
            values[key], sources[key] = _from_env(key, env[env_name]), f"${env_name}"
        elif key in file_values:
            values[key], sources[key] = file_values[key], file_sources[key]
        else:
            values[key], sources[key] = spec.default, "default"
    return Config(values, sources)
