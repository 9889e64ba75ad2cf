"""Read WAV files of any common layout, and feed them through the pipeline.

The stdlib ``wave`` module rejects float and WAVE_FORMAT_EXTENSIBLE files and
trusts the header's data size; a small RIFF walker handles those, and a file
whose header lies about its length is read to its real end.
"""

from __future__ import annotations

import logging
import struct
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from stt_daemon.audio.blocks import Block, EndOfStream, QueueSource
from stt_daemon.audio.convert import PcmConverter
from stt_daemon.errors import AudioFileError

_LOGGER = logging.getLogger(__name__)

_PCM, _FLOAT, _EXTENSIBLE = 0x0001, 0x0003, 0xFFFE
_INT_FORMATS = {8: "u8", 16: "s16", 24: "s24", 32: "s32"}
_FLOAT_FORMATS = {32: "f32", 64: "f64"}


@dataclass(frozen=True)
class WavInfo:
    path: Path
    sample_format: str
    channels: int
    rate: int
    data_offset: int
    data_bytes: int

    @property
    def duration_s(self) -> float:
        return self.data_bytes / (self.channels * int(self.sample_format[1:]) // 8) / self.rate


def _bad(path: Path, why: str) -> AudioFileError:
    return AudioFileError(f"{path}: {why}; {_convert_hint(path)}")


def _convert_hint(path: Path) -> str:
    return f"convert it with: sox {path} -r 16000 -c 1 -b 16 out.wav"


def read_wav_info(path: Path) -> WavInfo:
    """Parse the header, or raise AudioFileError with a one-line reason."""
    try:
        with path.open("rb") as f:
            file_bytes = path.stat().st_size
            return _parse(path, f, file_bytes)
    except FileNotFoundError:
        raise AudioFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise AudioFileError(f"{path}: is a folder, not a WAV file") from None
    except PermissionError:
        raise AudioFileError(f"{path}: permission denied; check the file's permissions") from None


def _parse(path: Path, f: BinaryIO, file_bytes: int) -> WavInfo:
    head = f.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise _bad(path, "not a WAV file (no RIFF/WAVE header)")
    fmt: tuple[str, int, int] | None = None
    while True:
        chunk = f.read(8)
        if len(chunk) < 8:
            raise _bad(path, "WAV file has no audio data chunk")
        cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        if cid == b"fmt ":
            fmt = parse_fmt(str(path), f.read(size), _convert_hint(path))
            f.seek(size % 2, 1)
        elif cid == b"data":
            if fmt is None:
                raise _bad(path, "WAV data chunk comes before its fmt chunk")
            offset = f.tell()
            available = file_bytes - offset
            if size == 0 or size > available:
                if size != 0:
                    _LOGGER.warning("%s: header says %d data bytes, file holds %d; reading what is there",
                                    path, size, available)
                size = available
            sample_format, channels, rate = fmt
            frame = channels * int(sample_format[1:]) // 8
            size -= size % frame
            if size == 0:
                raise AudioFileError(f"{path}: the WAV file holds no audio samples")
            return WavInfo(path, sample_format, channels, rate, offset, size)
        else:
            f.seek(size + size % 2, 1)


def parse_fmt(name: str, body: bytes, hint: str) -> tuple[str, int, int]:
    """(sample format, channels, rate) from a fmt chunk; ``hint`` ends the error: what to do."""
    if len(body) < 16:
        raise AudioFileError(f"{name}: WAV fmt chunk is truncated; {hint}")
    tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
    if tag == _EXTENSIBLE and len(body) >= 26:
        tag = struct.unpack("<H", body[24:26])[0]
    if channels < 1 or not 1000 <= rate <= 384000:
        raise AudioFileError(f"{name}: WAV header is implausible ({channels} channels at {rate} Hz); {hint}")
    if tag == _PCM and bits in _INT_FORMATS:
        return _INT_FORMATS[bits], channels, rate
    if tag == _FLOAT and bits in _FLOAT_FORMATS:
        return _FLOAT_FORMATS[bits], channels, rate
    raise AudioFileError(f"{name}: unsupported WAV encoding (format tag {tag:#06x}, {bits} bits); {hint}")


class WavSource(QueueSource):
    """A WAV file as an audio source: paced like a microphone, or as fast as possible.

    Paced, a reader thread feeds the bounded queue like a capture callback would.
    Flat out, there is nothing to wait for, so the engine reads the file itself:
    no thread hand-off per block.
    """

    def __init__(self, info: WavInfo, block_ms: int = 20, realtime: bool = True, queue_ms: int = 2000) -> None:
        super().__init__(max(1, queue_ms // block_ms), PcmConverter(info.sample_format, info.channels, info.rate),
                         block_ms, realtime=realtime)
        self.info = info
        self.description = f"file {info.path}"
        self._block_s = block_ms / 1000
        self._chunk_bytes = max(1, round(info.rate * self._block_s)) * self._converter.frame_bytes
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._thread = threading.Thread(target=self._run, name="wav-reader", daemon=True)
        self._direct: BinaryIO | None = None
        self._remaining = info.data_bytes
        self._started = False

    @classmethod
    def open(cls, path: Path, block_ms: int = 20, realtime: bool = True, queue_ms: int = 2000) -> WavSource:
        return cls(read_wav_info(path), block_ms, realtime, queue_ms)

    def start(self) -> None:
        self._started = True
        if self.realtime:
            self._thread.start()
            return
        try:
            self._direct = self.info.path.open("rb")
            self._direct.seek(self.info.data_offset)
        except OSError as exc:
            raise AudioFileError(f"{self.info.path}: cannot read: {exc.strerror}") from None

    def read(self, timeout_s: float) -> Block | None:
        if self.realtime:
            return super().read(timeout_s)
        if not self._running.is_set():
            self._running.wait(timeout_s)
            return None
        f = self._direct
        raw = f.read(min(self._chunk_bytes, self._remaining)) if f is not None and not self._stop.is_set() else b""
        if not raw:
            if f is not None:
                f.close()
            self._direct = None
            raise EndOfStream
        self._remaining -= len(raw)
        self._blocks.blocks += 1
        return Block(time.monotonic_ns(), self._converter.convert(raw))

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        """Also the first start of a file that began paused (start_paused)."""
        self._running.set()
        if not self._started:
            self.start()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()
        if self._thread.ident is not None:
            self._thread.join(timeout=2)
        self._blocks.close()

    def _run(self) -> None:
        try:
            with self.info.path.open("rb") as f:
                f.seek(self.info.data_offset)
                self._feed(f)
        except OSError as exc:
            _LOGGER.error("%s: read failed: %s", self.info.path, exc)
        finally:
            self._blocks.close()

    def _feed(self, f: BinaryIO) -> None:
        remaining = self.info.data_bytes
        start_ns = time.monotonic_ns()
        index = 0
        while remaining > 0 and not self._stop.is_set():
            if not self._running.is_set():
                paused_ns = time.monotonic_ns()
                self._running.wait()
                start_ns += time.monotonic_ns() - paused_ns  # a paused file resumes where it was
            raw = f.read(min(self._chunk_bytes, remaining))
            if not raw:
                break
            remaining -= len(raw)
            index += 1
            if self.realtime:
                # The block "arrives" when its last sample would have been spoken.
                due_ns = start_ns + int(index * self._block_s * 1e9)
                delay_s = (due_ns - time.monotonic_ns()) / 1e9
                if delay_s > 0 and self._stop.wait(delay_s):
                    break
                self._blocks.put_nowait(time.monotonic_ns(), raw)
            else:
                while not self._blocks.put(time.monotonic_ns(), raw, timeout_s=0.1):
                    if self._stop.is_set():
                        return

