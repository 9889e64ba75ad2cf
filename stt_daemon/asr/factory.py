"""The one place that turns a model folder and settings into a loaded engine.

Each engine names how to recognise its model folders, how to check one, and how
to load it. Adding an engine is a module of its own and an entry in ``_ENGINES``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from stt_daemon.asr import vosk_folder
from stt_daemon.asr.base import EngineOptions, Transcriber

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Engine:
    name: str
    recognizes: Callable[[Path], bool]
    check: Callable[[Path, str], None]  # raises ModelError with a one-line reason
    load: Callable[[Path, str, EngineOptions, str], Transcriber]


def _load_vosk(path: Path, name: str, options: EngineOptions, origin: str) -> Transcriber:
    from stt_daemon.asr import vosk

    return vosk.load(path, name, options, origin)


_ENGINES = [Engine("vosk", vosk_folder.is_vosk_model, vosk_folder.check_folder, _load_vosk)]
_DEFAULT = _ENGINES[0]  # its messages explain what a model folder must hold


def engine_for(path: Path) -> Engine:
    for engine in _ENGINES:
        if engine.recognizes(path):
            return engine
    return _DEFAULT


def is_model(path: Path) -> bool:
    return any(engine.recognizes(path) for engine in _ENGINES)


def check_model(path: Path, origin: str) -> None:
    engine_for(path).check(path, origin)


def load_transcriber(path: Path, name: str, options: EngineOptions, origin: str = "--model") -> Transcriber:
    """Load the model at ``path``; raises ModelError with a one-line reason."""
    started = time.monotonic()
    transcriber = engine_for(path).load(path, name, options, origin)
    _LOGGER.info("model %s loaded in %.1f s (%s)", name, time.monotonic() - started, origin)
    return transcriber

