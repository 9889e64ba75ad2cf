"""Batch transcription: many files, one model, one warm recognizer, the live pipeline."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from stt_daemon.engine import Engine
from stt_daemon.publish import Publisher
from stt_daemon.recognizer import Recognizer
from stt_daemon.settings import AudioSettings
from stt_daemon.vosk_backend import VoskBackend
from stt_daemon.wavfile import WavInfo, WavSource, read_wav_info

_LOGGER = logging.getLogger(__name__)


def check_files(paths: Sequence[Path]) -> list[WavInfo]:
    """Read every header first, so a bad file fails before the model loads."""
    return [read_wav_info(p) for p in paths]


def transcribe_files(model: Any, files: Sequence[WavInfo], audio: AudioSettings,
                     publisher: Publisher, on_file: Callable[[WavInfo], None],
                     should_stop: Callable[[], bool] = lambda: False) -> None:
    """Decode each file as fast as the CPU allows; each file's times start at zero."""
    recognizer = Recognizer(VoskBackend(model))
    fast = dataclasses.replace(audio, realtime=False)
    for info in files:
        if should_stop():
            break
        on_file(info)
        recognizer.begin_stream()
        source = WavSource(info, fast)
        source.start()
        engine = Engine(source, recognizer, publisher)
        engine.start()
        while not engine.join(0.1):
            if should_stop():
                engine.stop()
        if engine.failed is not None:
            raise RuntimeError(f"recognition failed on {info.path}") from engine.failed
        _LOGGER.debug("%s: %.1f s decoded", info.path, info.duration_s)


