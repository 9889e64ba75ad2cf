"""The catalog of downloadable models (models/catalog.toml), and the sha256 pins of
downloads whose checksum nobody published."""

from __future__ import annotations

import importlib.resources
import tomllib
from dataclasses import dataclass
from pathlib import Path

from stt_daemon.errors import DownloadError, UsageError


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    language: str
    url: str
    size: int | None
    sha256: str  # "" when none is published
    note: str = ""


def load_catalog(path: Path | None = None) -> dict[str, CatalogEntry]:
    try:
        if path is None:
            text = (importlib.resources.files("stt_daemon") / "data" / "catalog.toml").read_text("utf-8")
        else:
            text = path.read_text("utf-8")
        data = tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read the model catalog {path or 'catalog.toml'}: {exc}") from None
    entries = {}
    for name, item in data.items():
        try:
            entries[name] = CatalogEntry(name, str(item["language"]), str(item["url"]),
                                         int(item["size"]) if item.get("size") else None,
                                         str(item.get("sha256", "")).lower(), str(item.get("note", "")))
        except (KeyError, TypeError, ValueError):
            raise UsageError(f"model catalog entry {name!r} needs language, url and size") from None
    return entries


def pins_path(models_dir: Path) -> Path:
    return models_dir / ".sha256-pins.toml"


def read_pins(models_dir: Path) -> dict[str, str]:
    try:
        return {k: str(v) for k, v in tomllib.loads(pins_path(models_dir).read_text("utf-8")).items()}
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DownloadError(f"cannot read {pins_path(models_dir)}: {exc}; remove it to re-pin") from None


def pin_text(pins: dict[str, str]) -> str:
    return "".join(f'"{name}" = "{digest}"\n' for name, digest in sorted(pins.items()))
