"""Audio from standard input, for pipelines: `parec | stt-daemon listen --input - --raw`.

A WAV stream (arecord, sox, ffmpeg with `-f wav -`) is read by its header, whatever
its data size says (streams write 0 or 0xFFFFFFFF there); `--raw` takes s16le 16 kHz
mono with no header. Blocks are taken as they arrive: a live pipe paces itself, and
a writer faster than real time waits on the pipe (the bounded queue pushes back)
rather than being dropped. The end of the stream ends the utterance in progress.

A pipe from a file (`sox f.flac -t wav - |`) comes faster than real time, and a live source
catches up by handing Vosk several queued blocks in one call, so its text would depend on the
machine's speed. With `--fast` (``realtime=False``) every block is decoded as it came, as for a
file read flat out: the same text on any machine.
"""

from __future__ import annotations

import logging
import struct
import threading
import time
from typing import BinaryIO

from stt_daemon.audio.blocks import QueueSource
from stt_daemon.audio.convert import PcmConverter
from stt_daemon.audio.wavfile import parse_fmt
from stt_daemon.errors import AudioFileError
from stt_daemon.settings import SAMPLE_RATE

_LOGGER = logging.getLogger(__name__)

_NAME = "standard input"


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def read_wav_stream_header(stream: BinaryIO) -> tuple[str, int, int]:
    """(sample format, channels, rate) of a WAV stream, leaving it at the first sample."""
    head = _read_exactly(stream, 12)
    if not head:
        raise AudioFileError(f"{_NAME}: no audio at all; send a WAV stream, or raw s16le 16 kHz mono "
                             "with --raw")
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise AudioFileError(f"{_NAME}: not a WAV stream (no RIFF/WAVE header); for raw s16le 16 kHz "
                             "mono audio add --raw")
    fmt: tuple[str, int, int] | None = None
    while True:
        chunk = _read_exactly(stream, 8)
        if len(chunk) < 8:
            raise AudioFileError(f"{_NAME}: the WAV stream ended before its audio data")
        cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        if cid == b"data":
            if fmt is None:
                raise AudioFileError(f"{_NAME}: the WAV data chunk comes before its fmt chunk")
            return fmt
        body = _read_exactly(stream, size + size % 2)
        if cid == b"fmt ":
            fmt = parse_fmt(_NAME, body[:size], "send 16-bit PCM (sox ... -b 16 -t wav -)")


class StdinSource(QueueSource):
    def __init__(self, stream: BinaryIO, raw: bool, block_ms: int = 20, queue_ms: int = 2000,
                 realtime: bool = True) -> None:
        fmt = ("s16", 1, SAMPLE_RATE) if raw else read_wav_stream_header(stream)
        converter = PcmConverter(*fmt)
        super().__init__(max(1, queue_ms // block_ms), converter, block_ms, realtime=realtime)
        self.description = f"{_NAME} ({'raw s16le 16 kHz mono' if raw else 'WAV'})"
        self._stream = stream
        self._chunk_bytes = max(1, fmt[2] * block_ms // 1000) * converter.frame_bytes
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stdin-reader", daemon=True)

    def start(self) -> None:
        if not self._thread.is_alive():
            self._thread.start()

    def pause(self) -> None:
        """A pipe cannot be paused; what arrives meanwhile is still decoded."""

    def resume(self) -> None:
        self.start()

    def stop(self) -> None:
        self._stop.set()
        self._blocks.close()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                data = _read_exactly(self._stream, self._chunk_bytes)  # whole blocks, as they arrive
                if not data:
                    break
                while not self._blocks.put(time.monotonic_ns(), data, timeout_s=0.1):
                    if self._stop.is_set():
                        return
        except (OSError, ValueError) as exc:
            _LOGGER.warning("%s: read failed (%s); ending the stream", _NAME, exc)
        finally:
            self._blocks.close()
