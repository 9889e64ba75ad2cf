"""`transcribe`: WAV files as fast as the CPU allows, one model load for all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from stt_daemon.cli.options import setting_options, settings_from


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@setting_options("transcribe")
def transcribe(files: tuple[Path, ...], **params: Any) -> None:
    """Transcribe WAV files as fast as possible, loading the model once.

    Settings not given here come from $STT_DAEMON_* and config.toml, as for listen.
    """
    import dataclasses

    from stt_daemon.asr.base import EngineOptions
    from stt_daemon.asr.factory import load_transcriber
    from stt_daemon.control.mainloop import MainLoop
    from stt_daemon.models.locate import resolve_model
    from stt_daemon.output.format import build_formatter
    from stt_daemon.output.publish import Publisher
    from stt_daemon.output.stdout import StdoutFormat, StdoutSink
    from stt_daemon.pipeline.batch import check_files, transcribe_files
    from stt_daemon.audio.wavfile import WavInfo

    # transcribe shows no partials, so it decodes in Vosk's own chunks: with smaller ones a
    # file's first words could differ after other files (the compiled computations Vosk
    # keeps per model), and a file must read the same alone as in any batch.
    # Nor does it start utterances afresh at Vosk's endpoints: measured on ko-dev, 20 ms and
    # 250 ms blocks then read the same on only 18 of 24 files, as endpoints land at each block
    # size's own places and each starts new features there.
    settings = dataclasses.replace(settings_from(params)(), partial_interval_ms=None, fresh_utterances=False)
    infos = check_files(files)
    location = resolve_model(settings.model)
    loop = MainLoop()
    loop.install_signal_handlers()
    as_json = settings.output == "json"
    sink = StdoutSink(StdoutFormat(json=as_json), on_closed=loop.request_stop)
    label_files = as_json or len(infos) > 1

    def on_file(info: WavInfo) -> None:
        sink.label = str(info.path) if label_files else None

    try:
        transcriber = load_transcriber(location.path, location.name, EngineOptions.from_settings(settings),
                                       location.origin)
        transcribe_files(transcriber, infos, settings, Publisher([sink]), on_file,
                         lambda: loop.stop_requested, build_formatter(settings, transcriber.name))
    finally:
        loop.close()


COMMANDS = [transcribe]
