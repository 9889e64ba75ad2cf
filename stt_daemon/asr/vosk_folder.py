"""A Vosk model folder: is it one, can we read it, and a per-run copy with other options.

Vosk 0.3.45 has no endpointer API; endpointing and the decoding chunk live in
the model's conf/model.conf, which Vosk parses strictly at load. So a tuned
model loads from a private copy made of symlinks with a rewritten model.conf,
deleted once loaded (Vosk reads everything into memory). The installed model
is never touched. No Vosk import here: these are checks on files.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from stt_daemon.asr.base import EngineOptions
from stt_daemon.errors import ModelError

# Kaldi's defaults are 0.5 s / 1.0 s / 2.0 s for rules 2, 3 and 4; --endpoint-silence-ms keeps their ratios.
_RULE_FACTORS = {"2": 1.0, "3": 2.0, "4": 4.0}
# Without it, rule 2 (an utterance the decoder is confident has ended: relative cost <= 2)
# fires after 0.1 s of trailing silence instead of 0.5 s, and rule 3 (cost <= 8) after 0.7 s
# instead of 1.0 s; rule 4 (2 s, any cost) stays (--tuned-endpoints). Measured over ko-dev sentences
# joined with 300-700 ms pauses: end of speech -> final about 0.5 s sooner, no sentence split
# at its inner pauses on held-out clips, CER no worse. On by default with 120 ms chunks (the
# trade-off table in the README); --no-tuned-endpoints restores Vosk's own rules.
_TUNED_RULES = {"2": "0.1", "3": "0.7"}


def is_vosk_model(path: Path) -> bool:
    """False for a folder we may not look into; check_folder says why."""
    try:
        return (path / "am" / "final.mdl").is_file() or (path / "final.mdl").is_file()
    except OSError:
        return False


def check_folder(path: Path, origin: str) -> None:
    """Raises ModelError with a one-line reason when ``path`` cannot be a loadable model."""
    try:
        _check(path, origin)
    except PermissionError:
        raise ModelError(f"model folder {path} is not readable; fix its permissions "
                         "(or those of the folders above it)") from None


def _check(path: Path, origin: str) -> None:
    if not path.exists():
        raise ModelError(f"model path {path} (from {origin}) does not exist; "
                         "pass --model with a folder that holds a Vosk model (see 'stt-daemon models')")
    if not path.is_dir():
        raise ModelError(f"model path {path} is a file; pass the unpacked model folder "
                         "(the one that contains am/ and conf/)")
    if not os.access(path, os.R_OK | os.X_OK):
        raise ModelError(f"model folder {path} is not readable; fix its permissions")
    if not is_vosk_model(path):
        raise ModelError(f"{path} is not a Vosk model (no am/final.mdl); pass the folder "
                         "that contains am/ and conf/")
    rate = model_sample_rate(path)
    if rate != 16000:
        raise ModelError(f"{path} is a {rate} Hz model (conf/mfcc.conf); stt-daemon feeds 16 kHz "
                         "audio: use a 16 kHz (wideband) model")


def model_sample_rate(path: Path) -> int:
    """The rate the model's features expect; Kaldi's default is 16000."""
    try:
        text = (path / "conf" / "mfcc.conf").read_text("utf-8", "replace")
    except OSError:
        return 16000
    for line in text.splitlines():
        if line.strip().startswith("--sample-frequency="):
            try:
                return int(float(line.split("=", 1)[1]))
            except ValueError:
                return 16000
    return 16000


def conf_options(options: EngineOptions) -> dict[str, str]:
    """model.conf options to set, name -> value."""
    opts: dict[str, str] = {}
    if options.endpoint_silence_ms is not None:
        for rule, factor in _RULE_FACTORS.items():
            seconds = options.endpoint_silence_ms * factor / 1000
            opts[f"--endpoint.rule{rule}.min-trailing-silence"] = f"{seconds:g}"
    elif options.tuned_endpoints:
        for rule, tuned in _TUNED_RULES.items():
            opts[f"--endpoint.rule{rule}.min-trailing-silence"] = tuned
    if options.partial_interval_ms is not None:
        opts["--frames-per-chunk"] = str(options.partial_interval_ms // 10)
    return opts


def rewrite_conf(text: str, options: dict[str, str]) -> str:
    kept = [line for line in text.splitlines() if line.split("=", 1)[0].strip() not in options]
    return "\n".join([*kept, *(f"{name}={value}" for name, value in options.items())]) + "\n"


@contextlib.contextmanager
def tuned_folder(model: Path, options: EngineOptions) -> Iterator[Path]:
    """The model itself when nothing is tuned; else a private symlinked copy, removed afterwards."""
    conf = conf_options(options)
    if not conf:
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
        original = model / "conf" / "model.conf"
        text = original.read_text("utf-8") if original.is_file() else ""
        (folder / "conf" / "model.conf").write_text(rewrite_conf(text, conf), "utf-8")
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
