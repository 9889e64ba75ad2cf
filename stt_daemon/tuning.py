"""Per-run endpointing and partial cadence, without touching the installed model.

Vosk 0.3.45 has no endpointer API; these live in the model's conf/model.conf,
which Vosk parses strictly at load. So we load from a private copy made of
symlinks with a rewritten model.conf, and delete the copy once it is loaded
(Vosk reads everything into memory).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from stt_daemon.errors import UsageError

# Kaldi's defaults are 0.5 s / 1.0 s / 2.0 s for rules 2, 3 and 4; we keep their ratios.
_RULE_FACTORS = {"2": 1.0, "3": 2.0, "4": 4.0}


@dataclass(frozen=True)
class Tuning:
    endpoint_silence_ms: int | None = None  # trailing silence before a final
    partial_interval_ms: int | None = None  # Vosk's --frames-per-chunk, in ms

    def __post_init__(self) -> None:
        silence, interval = self.endpoint_silence_ms, self.partial_interval_ms
        if silence is not None and not 50 <= silence <= 10000:
            raise UsageError(f"--endpoint-silence-ms {silence} is out of range: use 50 to 10000 "
                             "(shorter splits words, Vosk accepts it but cuts mid-word)")
        if interval is not None and (not 30 <= interval <= 2000 or interval % 10):
            raise UsageError(f"--partial-interval-ms {interval} is invalid: use a multiple of 10 "
                             "from 30 to 2000 (Vosk aborts on 0)")

    @property
    def is_default(self) -> bool:
        return self.endpoint_silence_ms is None and self.partial_interval_ms is None

    def options(self) -> dict[str, str]:
        """model.conf options to set, name -> value."""
        opts: dict[str, str] = {}
        if self.endpoint_silence_ms is not None:
            for rule, factor in _RULE_FACTORS.items():
                seconds = self.endpoint_silence_ms * factor / 1000
                opts[f"--endpoint.rule{rule}.min-trailing-silence"] = f"{seconds:g}"
        if self.partial_interval_ms is not None:
            opts["--frames-per-chunk"] = str(self.partial_interval_ms // 10)
        return opts


def rewrite_conf(text: str, options: dict[str, str]) -> str:
    kept = [line for line in text.splitlines() if line.split("=", 1)[0].strip() not in options]
    return "\n".join([*kept, *(f"{name}={value}" for name, value in options.items())]) + "\n"


@contextlib.contextmanager
def tuned_model_dir(model: Path, tuning: Tuning) -> Iterator[Path]:
    """The model itself when untuned; else a private symlinked copy, removed afterwards."""
    if tuning.is_default:
        yield model
        return
    folder = Path(tempfile.mkdtemp(prefix="stt-daemon-model-"))
    try:
        for item in model.iterdir():
            if item.name != "conf":
                (folder / item.name).symlink_to(item.resolve())
        (folder / "conf").mkdir()
        for item in (model / "conf").iterdir():
            if item.name != "model.conf":
                (folder / "conf" / item.name).symlink_to(item.resolve())
        conf = model / "conf" / "model.conf"
        original = conf.read_text("utf-8") if conf.is_file() else ""
        (folder / "conf" / "model.conf").write_text(rewrite_conf(original, tuning.options()), "utf-8")
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
