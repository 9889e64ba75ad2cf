"""Batch transcription: many files, one loaded model, the live pipeline read flat out."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from stt_daemon.asr.base import Transcriber
from stt_daemon.audio.wavfile import WavInfo, WavSource, read_wav_info
from stt_daemon.output.format import Formatter
from stt_daemon.output.publish import Publisher
from stt_daemon.pipeline import commands as cmd
from stt_daemon.pipeline.utterances import UtteranceTracker
from stt_daemon.pipeline.worker import Worker
from stt_daemon.settings import Settings

_LOGGER = logging.getLogger(__name__)


def check_files(paths: Sequence[Path]) -> list[WavInfo]:
    """Read every header first, so a bad file fails before the model loads."""
    return [read_wav_info(p) for p in paths]


def transcribe_files(transcriber: Transcriber, files: Sequence[WavInfo], settings: Settings,
                     publisher: Publisher, on_file: Callable[[WavInfo], None],
                     should_stop: Callable[[], bool] = lambda: False,
                     formatter: Formatter | None = None) -> None:
    """Decode each file as fast as the CPU allows; each file's times start at zero.

    Every file gets a recognizer of its own, so it reads the same alone as in any batch:
    Vosk keeps its speaker adaptation (i-vectors) across utterances for ten minutes of audio,
    and neither FinalResult nor Reset clears it. Utterance ids run on across files.

    A recognizer of its own is not complete isolation: the loaded model keeps some state across
    the recognizers made from it (four fresh ones in a row read the same 70 s four slightly
    different ways, the same in every process; tests/conftest.py, fresh_transcriber). Loading
    the model per file would cost 2-3 s each. With Vosk's own 240 ms chunk, which transcribe
    uses, the file that leaked reads the same alone and after others (tests/test_accuracy.py),
    but over all 61 ko-dev files (2026-12-04) 2 read differently alone, each in a process of
    its own, than in one batch of all 61 ("일러 야 여" / "일러 여", "최은설 을" / "최선 을 다").
    """
    next_utterance = 1
    for info in files:
        if should_stop():
            break
        on_file(info)
        tracker = UtteranceTracker(transcriber.session(), first_utterance=next_utterance)
        source = WavSource(info, settings.block_ms, realtime=False)
        source.start()
        worker = Worker(source, transcriber, tracker, publisher, settings, formatter=formatter, recycle=False)
        worker.start()
        while not worker.join(0.1):
            if should_stop():
                worker.submit(cmd.Stop())
        if worker.failed is not None:
            raise RuntimeError(f"recognition failed on {info.path}") from worker.failed
        next_utterance = tracker.next_utterance
        _LOGGER.debug("%s: %.1f s decoded", info.path, info.duration_s)
