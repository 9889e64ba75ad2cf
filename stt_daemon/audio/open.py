"""Open the audio source a run asks for: a WAV file when one is given, else the microphone."""

from __future__ import annotations

from stt_daemon.audio.blocks import AudioSource
from stt_daemon.settings import Settings


def open_source(settings: Settings, wait_for_device: bool = False) -> AudioSource:
    """Raises AudioFileError or DeviceError with a one-line reason. Nothing is opened yet:
    the stream starts with the source's start()."""
    if settings.reads_stdin:
        import sys

        from stt_daemon.audio.stdin import StdinSource

        return StdinSource(sys.stdin.buffer, settings.raw, settings.block_ms, realtime=not settings.fast)
    if settings.input is not None:
        from stt_daemon.audio.wavfile import WavSource

        return WavSource.open(settings.input, settings.block_ms, realtime=not settings.fast)
    from stt_daemon.audio.mic import MicSource

    return MicSource(settings.device, settings.block_ms, wait_for_device=wait_for_device)
